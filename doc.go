// Package dmflow is the shared vocabulary of the dmflow Instagram DM chatbot
// framework: the normalized inbound [Event], the outgoing [Reply], the per-user
// [Session], and the contracts ([Store], [Sender], [Adapter]) that the engine,
// the stores, the channel adapters and the bot server agree on.
//
// The package imports nothing but the standard library, and nothing in it does
// I/O. Its sub-packages are grouped by dependency:
//
//	flows/               YAML flow files: schema, loading with positions, static checks, expr compilation
//	engine/              runs a compiled flow for one session and one event (pure, deterministic)
//	store/bolt           the default Store, an embedded bbolt file
//	store/postgres       the Store for several replicas sharing one PostgreSQL database
//	store/mem            an in-memory Store for tests, `dmflow chat` and embedding
//	store/storetest      the conformance suite every Store passes
//	adapters/instagram   webhooks, Send API, OAuth and tokens; igtest is its Graph API double
//	adapters/adaptertest the conformance suite every channel adapter (Adapter + Sender) passes
//	bot/                 webhook → inbox → per-user workers → engine → outbox → sender
//	flowtest             transcripts and conversations from go test
//	server               the assembly of bot, webhook, ops/admin routes and studio
//	cli                  every dmflow command as a library
//	cmd/dmflow           the single binary (cli.Main)
//
// Errors callers branch on are sentinels in this package (ErrNotFound,
// ErrConflict, ...), always wrapped with context by the package that returns
// them; test them with errors.Is.
package dmflow
