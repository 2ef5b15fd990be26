// Package e2e holds the end-to-end tests of `dmflow serve`: they build the
// real binary, run it on 127.0.0.1 with a real bbolt file, point its Send
// API client at an in-process Graph API double (igtest, via
// DMFLOW_GRAPH_URL), deliver signed webhooks, and check what Instagram
// would have received, across graceful restarts, SIGHUP reloads and
// SIGKILL crashes.
//
// The package has no non-test code besides this comment. Run it with
//
//	go test ./internal/e2e/                 # the short CI variants (< 3 min)
//	DMFLOW_LONG=1 go test ./internal/e2e/   # longer load and more crashes
//
// DMFLOW_BIN names a prebuilt binary to test instead of building one.
package e2e
