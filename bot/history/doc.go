// Package history turns a user's stored history (dmflow.InboxItem, as the
// admin API and bot.Replay return it) into what a flow author reads:
//
//   - WriteReplay renders a bot.Replay as text: per turn, what the bot sent
//     then next to what the current flows would send, the turns that differ
//     marked (`dmflow admin replay`);
//   - Transcript writes the conversation as a *.test.yaml transcript that
//     replays it exactly under `dmflow test`: the user's events as inputs,
//     the recorded replies as expectations, action results as mocks and
//     the fake clock at the recorded times (`dmflow admin history
//     --transcript`).
//
// Both are pure functions of their input; the CLI only fetches the JSON.
package history
