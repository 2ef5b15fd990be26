package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateAuthor = flag.Bool("update-author", false, "rewrite the golden files of validate/test/chat/graph")

// runAuthor runs dmflow in-process with stdin and returns the exit code,
// stdout and stderr.
func runAuthor(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, IO{In: strings.NewReader(stdin), Out: &out, Err: &errb,
		Env: func(string) (string, bool) { return "", false }})
	return code, out.String(), errb.String()
}

// golden compares got with testdata/author/golden/name (or rewrites it).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "author", "golden", name)
	if *updateAuthor {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update-author to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

const author = "testdata/author/"

func TestValidate(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		code       int
		stdout     string // exact
		stderrFile string // golden file, or "" for empty stderr
		stderrHas  string
	}{
		{name: "good", args: []string{author + "good"}, code: exitOK,
			stdout: "ok   testdata/author/good: 1 flow shop (main); 6 states\n"},
		{name: "files", args: []string{author + "good/bot.yaml"}, code: exitOK,
			stdout: "ok   testdata/author/good/bot.yaml: 1 flow shop (main); 6 states\n"},
		{name: "bad", args: []string{author + "bad"}, code: exitFail, stderrFile: "validate-bad.stderr"},
		{name: "warnings", args: []string{author + "warn"}, code: exitOK,
			stdout: "ok   testdata/author/warn: 1 flow warned (main); 3 states; 2 warnings\n", stderrFile: "validate-warn.stderr"},
		{name: "strict", args: []string{"--strict", author + "warn"}, code: exitFail, stderrFile: "validate-strict.stderr"},
		// A message outside the messaging window is never delivered (Instagram
		// Login apps have no opt-in message): rejected without --strict, as
		// an error, for a long timeout and for a chain of timeouts.
		{name: "outside the window", args: []string{author + "window"}, code: exitFail, stderrFile: "validate-window.stderr"},
		{name: "outside the window by a chain", args: []string{"../flows/testdata/err/timeout_chain.yaml"}, code: exitFail,
			stderrHas: "timeout_chain.yaml:16:14: state ask: its timeout sends a message 26h after the user's last one"},
		{name: "several bundles", args: []string{author + "good", author + "bad"}, code: exitFail,
			stdout: "ok   testdata/author/good: 1 flow shop (main); 6 states\n", stderrFile: "validate-bad.stderr"},
		// A directory with flow files is one bundle, its sub-directories
		// not searched (old/ holds a broken flow serve would never load).
		{name: "bundle dir skips sub-dirs", args: []string{author + "nested"}, code: exitOK,
			stdout: "ok   testdata/author/nested: 1 flow shop (main); 6 states\n"},
		// A directory without flow files: each sub-directory with flow files
		// is a bundle (b/deeper, below the bundle b, is not).
		{name: "dir of bundles", args: []string{author + "multi"}, code: exitOK,
			stdout: "ok   testdata/author/multi/a: 1 flow shop (main); 6 states\nok   testdata/author/multi/b: 1 flow shop (main); 6 states\n"},
		{name: "missing path", args: []string{author + "nope"}, code: exitUsage, stderrHas: "no such file"},
		{name: "no args", args: nil, code: exitUsage, stderrHas: "name at least one"},
		{name: "bad flag", args: []string{"--bogus", author + "good"}, code: exitUsage, stderrHas: "flag provided but not defined"},
		{name: "help", args: []string{"--help"}, code: exitOK, stderrHas: "-strict"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runAuthor(t, "", append([]string{"validate"}, tt.args...)...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.code, errs)
			}
			if tt.stdout != "" || tt.stderrHas == "" {
				if out != tt.stdout {
					t.Errorf("stdout:\n%s\nwant:\n%s", out, tt.stdout)
				}
			}
			switch {
			case tt.stderrFile != "":
				golden(t, tt.stderrFile, errs)
			case tt.stderrHas != "":
				if !strings.Contains(errs, tt.stderrHas) {
					t.Errorf("stderr %q does not contain %q", errs, tt.stderrHas)
				}
			case errs != "":
				t.Errorf("unexpected stderr:\n%s", errs)
			}
		})
	}
}

func TestValidateJSON(t *testing.T) {
	code, out, _ := runAuthor(t, "", "validate", "--json", author+"good", author+"bad")
	if code != exitFail {
		t.Fatalf("exit %d, want 1", code)
	}
	dec := json.NewDecoder(strings.NewReader(out))
	var good, bad bundleReport
	if err := dec.Decode(&good); err != nil {
		t.Fatal(err)
	}
	if err := dec.Decode(&bad); err != nil {
		t.Fatal(err)
	}
	if !good.OK || good.Main != "shop" || len(good.Flows) != 1 || good.Flows[0].States != 6 {
		t.Errorf("good report: %+v", good)
	}
	if bad.OK || len(bad.Diagnostics) == 0 {
		t.Fatalf("bad report: %+v", bad)
	}
	d := bad.Diagnostics[0]
	if d.File != "testdata/author/bad/bot.yaml" || d.Line == 0 || d.Col == 0 || d.Message == "" {
		t.Errorf("first diagnostic: %+v", d)
	}
	if !hasSeverity(bad.Diagnostics, "error") || !hasSeverity(bad.Diagnostics, "warning") {
		t.Errorf("want errors and warnings: %+v", bad.Diagnostics)
	}
}

func hasSeverity(ds []diagnostic, sev string) bool {
	for _, d := range ds {
		if d.Severity == sev {
			return true
		}
	}
	return false
}

func TestTestCommand(t *testing.T) {
	t.Run("pass", func(t *testing.T) {
		code, out, errs := runAuthor(t, "", "test", author+"good")
		want := "ok   1 transcript, 3 steps\ncoverage shop: states 4/6 (66%), transitions 4/11 — not visited: photo, nudge\n"
		if code != exitOK || out != want || errs != "" {
			t.Errorf("exit %d\nstdout:\n%s\nwant:\n%s\nstderr:\n%s", code, out, want, errs)
		}
	})
	t.Run("fail", func(t *testing.T) {
		code, out, errs := runAuthor(t, "", "test", author+"failing")
		if code != exitFail || errs != "" {
			t.Errorf("exit %d, stderr:\n%s", code, errs)
		}
		golden(t, "test-fail.stdout", out)
	})
	t.Run("verbose and run filter", func(t *testing.T) {
		code, out, _ := runAuthor(t, "", "test", "-v", "--run", "passing", author+"good", author+"failing")
		if code != exitOK {
			t.Errorf("exit %d:\n%s", code, out)
		}
		golden(t, "test-verbose.stdout", out)
	})
	t.Run("messaging window", func(t *testing.T) {
		code, out, errs := runAuthor(t, "", "test", author+"window")
		if code != exitOK || errs != "" || !strings.HasPrefix(out, "ok   2 transcripts, 5 steps\n") {
			t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
		}
	})
	t.Run("channels", func(t *testing.T) {
		// one flow branching on event.channel, a transcript per channel
		code, out, errs := runAuthor(t, "", "test", author+"channels")
		if code != exitOK || errs != "" || !strings.HasPrefix(out, "ok   3 transcripts, 6 steps\n") {
			t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
		}
	})
	t.Run("nothing matches", func(t *testing.T) {
		code, _, errs := runAuthor(t, "", "test", "--run", "zzz", author+"good")
		if code != exitFail || !strings.Contains(errs, "no transcript matched") {
			t.Errorf("exit %d, stderr %q", code, errs)
		}
	})
	t.Run("no transcripts", func(t *testing.T) {
		code, _, errs := runAuthor(t, "", "test", author+"bad")
		if code != exitUsage || !strings.Contains(errs, "no transcripts") {
			t.Errorf("exit %d, stderr %q", code, errs)
		}
	})
}

func TestTranscriptFileError(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "bot.yaml"), []byte("flow: x\nstart: a\nstates:\n  a: {end: true}\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "x.test.yaml"), []byte("steps:\n  - usr: hi\n"), 0o644)
	code, out, errs := runAuthor(t, "", "test", dir)
	if code != exitFail || !strings.Contains(errs, "x.test.yaml:2:5: unknown step key \"usr\"") {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
	if !strings.Contains(out, "1 file could not be read") {
		t.Errorf("stdout %q", out)
	}
}

// chatScript drives a whole conversation: a failed ask, a chip tap, /trace,
// /vars, a postback button, an action answered with /result, a timeout fired
// by /advance, and the operator commands.
const chatScript = `hi
A
Al
/vars
2
/trace
1
/advance 59m
/advance 2m
/state
1
/result ok {"status":"shipped"}
/state
/echo hello
/release
/bogus
/advance
/help
`

func TestChat(t *testing.T) {
	code, out, errs := runAuthor(t, chatScript, "chat", "--now", "2025-01-06T09:00:00Z", "--user", "u1", author+"good")
	if code != exitOK {
		t.Errorf("exit %d", code)
	}
	golden(t, "chat.stdout", out)
	golden(t, "chat.stderr", errs)
}

// TestChatWindow: chat says which replies the messaging window refuses.
func TestChatWindow(t *testing.T) {
	code, out, errs := runAuthor(t, "hi\n/advance 26h\n", "chat", "--now", "2025-01-06T09:00:00Z", author+"window")
	if code != exitOK || errs != "" {
		t.Errorf("exit %d, stderr:\n%s", code, errs)
	}
	golden(t, "chat-window.stdout", out)
}

func TestChatBoltStoreResumes(t *testing.T) {
	db := filepath.Join(t.TempDir(), "chat.db")
	args := []string{"chat", "--store", db, "--now", "2025-01-06T09:00:00Z", author + "good"}
	if code, out, errs := runAuthor(t, "hi\nAl\n", args...); code != exitOK || !strings.Contains(out, "Hello Al!") {
		t.Fatalf("first run: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs := runAuthor(t, "/state\n/vars\n", args...)
	if code != exitOK || !strings.Contains(out, `state "menu"`) || !strings.Contains(out, `name = "Al"`) {
		t.Errorf("second run: exit %d\n%s%s", code, out, errs)
	}
}

func TestChatUsage(t *testing.T) {
	for _, args := range [][]string{{"chat"}, {"chat", "--now", "later", author + "good"}, {"chat", author + "nope"}} {
		if code, _, _ := runAuthor(t, "", args...); code != exitUsage {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	if code, _, errs := runAuthor(t, "", "chat", author+"bad"); code != exitFail || !strings.Contains(errs, "bot.yaml:9:11:") {
		t.Errorf("bad flow: exit %d, stderr %q", code, errs)
	}
}

func TestGraph(t *testing.T) {
	for _, format := range []string{"mermaid", "dot"} {
		t.Run(format, func(t *testing.T) {
			code, out, errs := runAuthor(t, "", "graph", "--format", format, author+"good")
			if code != exitOK || errs != "" {
				t.Fatalf("exit %d, stderr %q", code, errs)
			}
			golden(t, "graph."+format, out)
		})
	}
	for _, args := range [][]string{{"--format", "svg", author + "good"}, {"--flow", "nope", author + "good"}, {}} {
		if code, _, _ := runAuthor(t, "", append([]string{"graph"}, args...)...); code != exitUsage {
			t.Errorf("graph %v: exit %d, want 2", args, code)
		}
	}
}

// TestExamples keeps the example bots valid and their transcripts green.
func TestExamples(t *testing.T) {
	for _, cmd := range []string{"validate", "test"} {
		if code, out, errs := runAuthor(t, "", cmd, "../examples"); code != exitOK {
			t.Errorf("dmflow %s examples: exit %d\n%s%s", cmd, code, out, errs)
		}
	}
}

// TestChatChannel: --channel is the user's event.channel, and a reply the
// channel cannot render is marked as not delivered.
func TestChatChannel(t *testing.T) {
	flow := writeFile(t, "love.yaml", "flow: love\nstart: a\nstates:\n  a:\n    say: [{text: 'on {{ event.channel }}'}, {heart: true}]\n    end: true\n")
	code, out, errs := runAuthor(t, "hi\n", "chat", "--channel", "messenger", flow)
	if code != exitOK || !strings.Contains(out, "on messenger") ||
		!strings.Contains(out, "-- not delivered: messenger cannot render like_heart replies") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	if code, out, _ := runAuthor(t, "hi\n", "chat", flow); code != exitOK || !strings.Contains(out, "on test") || strings.Contains(out, "not delivered") {
		t.Errorf("default channel: exit %d\n%s", code, out)
	}
	if code, _, errs := runAuthor(t, "", "chat", "--channel", "sms", flow); code != exitUsage || !strings.Contains(errs, `--channel "sms"`) {
		t.Errorf("unknown channel: exit %d: %s", code, errs)
	}
}
