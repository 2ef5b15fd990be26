// Package flowtest runs flows the way the server does, in memory and with
// a fake clock, for tests and the authoring tools: `dmflow test`, `dmflow
// chat` and a program's own go test use it.
//
//   - Conversation is one user's session driven through the real engine:
//     each turn committed through a dmflow.Store (store/mem by default),
//     action calls answered (mocks, or a real runner) and their results fed
//     back, due timers fired on Advance, each reply given the 24 h window's
//     verdict (dmflow.CheckWindow).
//   - Transcripts (*.test.yaml, docs/testing.md) are parsed with positions
//     and run by a Runner, which reports want/got diffs and the state and
//     transition coverage of every flow.
//   - Run(t, dir, opts) runs every transcript under dir as subtests of a Go
//     test, with the program's expression helpers and Go actions.
//   - FindBundles, FindTranscripts and LoadEngine find and load flows the
//     way `dmflow validate` and `dmflow serve` do.
package flowtest
