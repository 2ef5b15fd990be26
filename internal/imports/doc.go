// Package imports holds the test that enforces dmflow's import direction:
// the root vocabulary imports nothing of ours, and bot, engine and flows
// import no channel adapter (a channel is added without touching them).
package imports
