package cli

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dmflow/dmflow/adapters/instagram"
	"github.com/dmflow/dmflow/adapters/instagram/igtest"
	"github.com/dmflow/dmflow/internal/testutil"
	"github.com/dmflow/dmflow/store/bolt"
)

// freeLoopback returns a 127.0.0.1 address nothing listens on right now.
func freeLoopback(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func authEnv(graph *igtest.Server, redirect string) envMap {
	return envMap{"INSTAGRAM_CLIENT_ID": igtest.DefaultAppID, "INSTAGRAM_CLIENT_SECRET": igtest.DefaultAppSecret,
		"INSTAGRAM_REDIRECT_URI": redirect, "DMFLOW_GRAPH_URL": graph.URL}
}

// TestAuthLoopbackRedirect: with a loopback redirect URI, dmflow auth
// listens there itself; a callback with a foreign state is refused (and
// auth keeps waiting), the browser's real callback completes it, and the
// account is subscribed to webhooks.
func TestAuthLoopbackRedirect(t *testing.T) {
	graph := igtest.NewServer(igtest.Config{})
	t.Cleanup(graph.Close)
	redirect := "http://" + freeLoopback(t) + "/oauth/cb"
	out := &urlWatcher{out: &syncBuffer{}, found: make(chan string, 1)}
	errb := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(t.Context(), []string{"auth", "--db", filepath.Join(t.TempDir(), "d.db")},
			IO{In: strings.NewReader(""), Out: out, Err: errb, Env: authEnv(graph, redirect).lookup})
	}()
	consent := testutil.Recv(t, out.found, "the consent address")
	browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := browser.Get(consent)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, err := resp.Location()
	if err != nil || !strings.HasPrefix(back.String(), redirect+"?") {
		t.Fatalf("the double redirected to %v (%v), want %s", back, err, redirect)
	}
	forged := *back
	q := forged.Query()
	q.Set("state", "not-ours")
	forged.RawQuery = q.Encode()
	for _, tc := range []struct {
		u    string
		code int
		want string
	}{
		{forged.String(), http.StatusBadRequest, "state does not match"},
		{redirect + "?error=access_denied", http.StatusBadRequest, "consent refused"},
		{back.String(), http.StatusOK, "authorization received"},
	} {
		resp, err := testHTTP.Get(tc.u)
		if err != nil {
			t.Fatalf("GET %s: %v", tc.u, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code || !strings.Contains(string(b), tc.want) {
			t.Fatalf("GET %s: %s %s, want %d and %q", tc.u, resp.Status, b, tc.code, tc.want)
		}
	}
	if code := testutil.Recv(t, done, "dmflow auth to exit"); code != exitOK {
		t.Fatalf("exit %d:\n%s%s", code, out.out, errb)
	}
	for _, want := range []string{"the browser comes back to " + redirect, "connected @" + igtest.DefaultUsername,
		"subscribed account " + igtest.DefaultAccount + " to webhooks (" + strings.Join(instagram.DefaultFields, ", ") + ")"} {
		if !strings.Contains(out.out.String(), want) {
			t.Errorf("want %q in:\n%s", want, out.out)
		}
	}
	if got := graph.SubscribedFields(igtest.DefaultAccount); !slices.Equal(got, instagram.DefaultFields) {
		t.Errorf("subscribed fields %v, want %v", got, instagram.DefaultFields)
	}
}

// TestAuthLoopbackFailures: auth gives up when nobody comes back within
// --timeout, and says so when it cannot listen on the redirect URI.
func TestAuthLoopbackFailures(t *testing.T) {
	graph := igtest.NewServer(igtest.Config{})
	t.Cleanup(graph.Close)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, tc := range []struct {
		name, redirect string
		args           []string
		want           string
	}{
		{"nobody comes back", "http://" + freeLoopback(t) + "/cb", []string{"--timeout", "1ms"}, "no authorization received: context deadline exceeded"},
		{"address in use", "http://" + busy.Addr().String(), nil, "listen on the redirect URI's " + busy.Addr().String()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"auth", "--db", filepath.Join(t.TempDir(), "d.db")}, tc.args...)
			code, _, errs := runCmd(t, authEnv(graph, tc.redirect), args...)
			if code != exitFail || !strings.Contains(errs, tc.want) {
				t.Fatalf("exit %d, want %d and %q in %s", code, exitFail, tc.want, errs)
			}
		})
	}
}

// TestAuthSubscribeFails: a pasted bare code (no state to check) is
// exchanged and the token stored even when subscribing the account to
// webhooks fails; the error says how to go on.
func TestAuthSubscribeFails(t *testing.T) {
	graph := igtest.NewServer(igtest.Config{})
	t.Cleanup(graph.Close)
	graph.Inject(igtest.Fault{Path: "subscribed_apps", Times: -1, Code: 100, Message: "no subscribing today"})
	const redirect = "https://bot.example.com/cb"
	db := filepath.Join(t.TempDir(), "d.db")
	var out, errb bytes.Buffer
	code := run(t.Context(), []string{"auth", "--db", db, "--paste"}, IO{In: strings.NewReader(graph.NewCode(redirect, "") + "#_\n"),
		Out: &out, Err: &errb, Env: authEnv(graph, redirect).lookup})
	if code != exitFail || !strings.Contains(errb.String(), "token stored, but subscribing the account to webhooks failed") ||
		!strings.Contains(errb.String(), "no subscribing today") || !strings.Contains(out.String(), "connected @"+igtest.DefaultUsername) {
		t.Fatalf("exit %d:\n%s%s", code, &out, &errb)
	}
	st, err := bolt.Open(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	toks, err := st.ListTokens(context.Background())
	if err != nil || len(toks) != 1 || toks[0].Account != igtest.DefaultAccount || toks[0].AccessToken == "" {
		t.Fatalf("stored tokens %v, %v", toks, err)
	}
}
