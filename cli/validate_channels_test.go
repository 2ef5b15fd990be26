package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidateChannels(t *testing.T) {
	dir := t.TempDir()
	flow := `flow: shop
start: hello
states:
  hello:
    say:
      - text: "hi"
        quick_replies: [Yes, No]
      - heart: true
      - cards:
          - title: Hat
            buttons: [{title: Buy, payload: BUY}]
    on:
      - say: [{react: love}]
`
	path := filepath.Join(dir, "shop.yaml")
	if err := os.WriteFile(path, []byte(flow), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runAuthor(t, "", "validate", "--channels", "instagram", path); code != 0 {
		t.Fatalf("instagram only: exit %d: %s", code, errs)
	}
	code, _, errs := runAuthor(t, "", "validate", "--channels", "instagram,messenger", path)
	want := []string{
		path + ":8:9: messenger cannot render like_heart replies (declared channels: instagram, messenger)",
		path + ":13:15: messenger cannot render react replies (declared channels: instagram, messenger)",
	}
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for _, w := range want {
		if !strings.Contains(errs, w) {
			t.Errorf("stderr lacks %q:\n%s", w, errs)
		}
	}
	if n := strings.Count(errs, "cannot render"); n != 2 {
		t.Errorf("%d channel errors, want 2 (text, quick replies and cards render on both):\n%s", n, errs)
	}
	if code, _, errs := runAuthor(t, "", "validate", "--channels", "telegram", path); code != 2 || !strings.Contains(errs, "unknown channel") {
		t.Errorf("unknown channel: exit %d: %s", code, errs)
	}
}

// TestValidateDeclaredChannels: without --channels, validate checks the
// replies against the bundle's own `channels:` (default instagram only);
// --channels overrides it; an unknown declared channel is an error at its
// position.
func TestValidateDeclaredChannels(t *testing.T) {
	dir := t.TempDir()
	write := func(name, channels string) string {
		path := filepath.Join(dir, name+".yaml")
		src := "flow: " + name + "\n" + channels + "start: hello\nstates:\n  hello:\n    say:\n      - text: hi\n      - heart: true\n    end: true\n"
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	both := write("both", "channels: [instagram, messenger]\n")
	undeclared := write("plain", "")
	unknown := write("tg", "channels: [instagram, telegram]\n")

	code, _, errs := runAuthor(t, "", "validate", both)
	if want := both + ":8:9: messenger cannot render like_heart replies (declared channels: instagram, messenger)"; code != 1 || !strings.Contains(errs, want) {
		t.Errorf("declared both: exit %d, want 1 and %q:\n%s", code, want, errs)
	}
	if code, _, errs := runAuthor(t, "", "validate", "--channels", "instagram", both); code != 0 {
		t.Errorf("--channels instagram overrides the declaration: exit %d: %s", code, errs)
	}
	if code, _, errs := runAuthor(t, "", "validate", undeclared); code != 0 {
		t.Errorf("undeclared (instagram only): exit %d: %s", code, errs)
	}
	code, _, errs = runAuthor(t, "", "validate", unknown)
	if want := unknown + `:2:23: channels: unknown channel "telegram" (known: instagram, messenger)`; code != 1 || !strings.Contains(errs, want) {
		t.Errorf("unknown declared: exit %d, want 1 and %q:\n%s", code, want, errs)
	}
}
