package cli

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestInstagramSetupWelcomeFlows: welcome_message_flows in the config file
// are created (the output gives the id to keep) or, with an id, updated.
func TestInstagramSetupWelcomeFlows(t *testing.T) {
	graph := newGraph(t)
	yaml := `instagram:
  welcome_message_flows:
    - name: spring ad
      messages:
        - text: "Hi! 👋 Want the spring price list?"
          quick_replies:
            - {title: Yes please, payload: PRICES}
            - {title: No thanks, payload: "NO"}
`
	env := envMap{"INSTAGRAM_ACCESS_TOKEN": testAccessToken, "DMFLOW_GRAPH_URL": graph.URL}
	db := filepath.Join(t.TempDir(), "none.db")
	code, out, errs := runCmd(t, env, "instagram", "setup", "--config", writeFile(t, "dmflow.yaml", yaml), "--db", db)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	flows := graph.WelcomeFlows()
	if len(flows) != 1 || flows[0].Name != "spring ad" || flows[0].Messages[0].QuickReplies[0].Payload != "PRICES" {
		t.Fatalf("flows: %+v", flows)
	}
	id := flows[0].ID
	if want := `welcome message flow "spring ad" created: id ` + id; !strings.Contains(out, want) {
		t.Fatalf("output lacks %q:\n%s", want, out)
	}

	updated := strings.Replace(yaml, "    - name: spring ad", "    - id: \""+id+"\"\n      name: spring ad", 1)
	updated = strings.Replace(updated, "Want the spring price list?", "Spring prices inside.", 1)
	code, out, errs = runCmd(t, env, "instagram", "setup", "--config", writeFile(t, "dmflow2.yaml", updated), "--db", db)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	flows = graph.WelcomeFlows()
	if len(flows) != 1 || flows[0].Messages[0].Text != "Hi! 👋 Spring prices inside." || !strings.Contains(out, "updated (id "+id+")") {
		t.Fatalf("after update: %+v\n%s", flows, out)
	}

	bad := strings.Replace(yaml, "title: Yes please", "title: \"Yes please, a title longer than twenty\"", 1)
	code, _, errs = runCmd(t, env, "instagram", "setup", "--config", writeFile(t, "dmflow3.yaml", bad), "--db", db)
	if code == exitOK || !strings.Contains(errs, "welcome_message_flows[0]") {
		t.Fatalf("a too long quick reply: exit %d: %s", code, errs)
	}
	if n := len(graph.WelcomeFlows()); n != 1 {
		t.Fatalf("%d flows after the refused config", n)
	}
}
