package cli

import (
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dmflow/dmflow/adapters/instagram/igtest"
	"github.com/dmflow/dmflow/internal/testutil"
)

// authorizeURL finds the consent address `dmflow auth` prints.
var authorizeURL = regexp.MustCompile(`(http://\S+/oauth/authorize\?\S+)`)

// urlWatcher passes what the command prints to out and sends the first
// consent address it sees on found.
type urlWatcher struct {
	out   *syncBuffer
	found chan string
	sent  bool
}

func (w *urlWatcher) Write(p []byte) (int, error) {
	n, err := w.out.Write(p)
	if m := authorizeURL.FindStringSubmatch(w.out.String()); m != nil && !w.sent {
		w.sent = true
		w.found <- m[1]
	}
	return n, err
}

// TestAuthPaste runs `dmflow auth --paste` in-process against the Graph
// API double: the test plays the browser (approves the consent address,
// reads where the double redirects) and pastes what paste makes of that
// address on the command's stdin.
func TestAuthPaste(t *testing.T) {
	graph := igtest.NewServer(igtest.Config{})
	t.Cleanup(graph.Close)
	const redirect = "https://bot.example.com/cb"
	env := envMap{"INSTAGRAM_CLIENT_ID": igtest.DefaultAppID, "INSTAGRAM_CLIENT_SECRET": igtest.DefaultAppSecret,
		"INSTAGRAM_REDIRECT_URI": redirect, "DMFLOW_GRAPH_URL": graph.URL}
	browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	approve := func(t *testing.T, consent string) *url.URL {
		resp, err := browser.Get(consent)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, err := resp.Location()
		if err != nil {
			t.Fatalf("the double did not redirect the approval: %s %v", resp.Status, err)
		}
		return loc
	}
	for _, tc := range []struct {
		name  string
		paste func(back *url.URL) string
		code  int
		want  string
	}{
		{"the redirect address", func(back *url.URL) string { return back.String() + "#_" }, exitOK, "connected @" + igtest.DefaultUsername},
		{"a foreign state", func(back *url.URL) string {
			q := back.Query()
			q.Set("state", "not-ours")
			back.RawQuery = q.Encode()
			return back.String()
		}, exitFail, "state does not match"},
		{"consent refused", func(*url.URL) string {
			return redirect + "?error=access_denied&error_description=Permissions+error"
		}, exitFail, "consent refused: access_denied"},
		{"nothing", func(*url.URL) string { return "" }, exitFail, "nothing pasted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdin, paste := io.Pipe()
			out := &urlWatcher{out: &syncBuffer{}, found: make(chan string, 1)}
			errb := &syncBuffer{}
			done := make(chan int, 1)
			db := filepath.Join(t.TempDir(), "d.db")
			go func() {
				done <- run(t.Context(), []string{"auth", "--db", db, "--paste", "--no-subscribe"},
					IO{In: stdin, Out: out, Err: errb, Env: env.lookup})
			}()
			consent := testutil.Recv(t, out.found, "the consent address")
			if _, err := io.WriteString(paste, tc.paste(approve(t, consent))+"\n"); err != nil {
				t.Fatal(err)
			}
			code := testutil.Recv(t, done, "dmflow auth to exit")
			if code != tc.code || !strings.Contains(out.out.String()+errb.String(), tc.want) {
				t.Fatalf("exit %d (want %d), want %q in:\n%s%s", code, tc.code, tc.want, out.out.String(), errb.String())
			}
		})
	}
}
