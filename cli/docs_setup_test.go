package cli

import (
	"os"
	"strings"
	"testing"
)

// TestDocsMessengerProfileExamples loads the ice-breaker/menu examples of
// the docs as config files, so the documented YAML stays valid, and checks
// that the docs name the setup and --against commands.
func TestDocsMessengerProfileExamples(t *testing.T) {
	for _, doc := range []string{"../docs/operations.md", "../docs/instagram-setup.md"} {
		t.Run(doc, func(t *testing.T) {
			b, err := os.ReadFile(doc)
			if err != nil {
				t.Fatal(err)
			}
			text := string(b)
			found := 0
			for _, block := range yamlBlocks(text) {
				if !strings.Contains(block, "ice_breakers:") {
					continue
				}
				found++
				c, err := loadTest(t, []string{"--config", writeFile(t, "doc.yaml", block)}, envMap{})
				if err != nil {
					t.Fatalf("documented example does not load: %v\n%s", err, block)
				}
				if len(c.Instagram.Messenger.IceBreakers) == 0 || len(c.Instagram.Messenger.PersistentMenu) == 0 {
					t.Fatalf("example declares no ice breakers or menu: %+v", c.Instagram.Messenger)
				}
			}
			if found == 0 {
				t.Error("no ```yaml example with ice_breakers")
			}
			for _, want := range []string{"dmflow instagram setup", "--instagram-setup-on-start", "--messenger-profile"} {
				if !strings.Contains(text, want) {
					t.Errorf("does not mention %q", want)
				}
			}
		})
	}
	b, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"dmflow validate --against /var/lib/dmflow/dmflow.db", "--against postgres://", "--against http://127.0.0.1:8080"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("docs/operations.md does not show %q", want)
		}
	}
}

// yamlBlocks returns the bodies of the ```yaml fenced blocks of a
// Markdown text.
func yamlBlocks(md string) []string {
	var out []string
	for _, part := range strings.Split(md, "```yaml\n")[1:] {
		if end := strings.Index(part, "```"); end >= 0 {
			out = append(out, part[:end])
		}
	}
	return out
}
