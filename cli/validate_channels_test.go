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
