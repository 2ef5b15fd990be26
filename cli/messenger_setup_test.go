package cli

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/dmflow/dmflow/adapters/messenger/messengertest"
)

const pageProfileYAML = `get_started: GET_STARTED
greeting:
  default: "Hi {{user_first_name}}! We answer in minutes."
  es_ES: "¡Hola {{user_first_name}}!"
ice_breakers:
  default:
    - {question: "Opening hours?", payload: HOURS}
    - {question: "Where is my order?", payload: TRACK}
persistent_menu:
  default:
    - {type: postback, title: Talk to us, payload: AGENT}
    - {type: web_url, title: Shop, url: "https://shop.example.com"}
`

func newMessengerGraph(t *testing.T) *messengertest.Server {
	t.Helper()
	g := messengertest.NewServer(messengertest.Config{Tokens: map[string]string{"page-token": messengertest.DefaultPage}})
	t.Cleanup(g.Close)
	return g
}

// TestMessengerSetup: the profile file named in the config file's
// messenger section is applied to the Page on the double in one call and
// read back.
func TestMessengerSetup(t *testing.T) {
	g := newMessengerGraph(t)
	prof := writeFile(t, "page.yaml", pageProfileYAML)
	cfg := writeFile(t, "dmflow.yaml", "messenger:\n  page_id: \""+messengertest.DefaultPage+"\"\n  page_token: page-token\n  graph_url: "+g.URL+"\n  profile: "+prof+"\n")
	code, out, errs := runCmd(t, envMap{}, "messenger", "setup", "--config", cfg)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"page " + messengertest.DefaultPage + ": get started set (payload GET_STARTED), greeting set (2 locales), ice breakers set (1 locale), persistent menu set (1 locale)\n",
		`GET messenger_profile: [{`, `"question":"Where is my order?"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	p := g.Profile(messengertest.DefaultPage)
	var greeting []map[string]string
	if err := json.Unmarshal(p["greeting"], &greeting); err != nil || len(greeting) != 2 || greeting[0]["locale"] != "default" {
		t.Errorf("greeting on the double: %s", p["greeting"])
	}
	if string(p["get_started"]) != `{"payload":"GET_STARTED"}` || !strings.Contains(string(p["persistent_menu"]), `"url":"https://shop.example.com"`) {
		t.Errorf("profile on the double: %s", p)
	}
	if n := g.ProfileCalls(messengertest.DefaultPage); n != 2 {
		t.Errorf("%d profile API calls, want 2 (one POST, one GET)", n)
	}
}

// TestMessengerSetupWithoutProfile: only the current profile is printed,
// nothing is set; the settings come from the environment.
func TestMessengerSetupWithoutProfile(t *testing.T) {
	g := newMessengerGraph(t)
	env := envMap{"MESSENGER_PAGE_ID": messengertest.DefaultPage, "MESSENGER_PAGE_ACCESS_TOKEN": "page-token", "DMFLOW_MESSENGER_GRAPH_URL": g.URL}
	code, out, errs := runCmd(t, env, "messenger", "setup")
	if code != exitOK || out != "GET messenger_profile: []\n" {
		t.Fatalf("exit %d\nstdout %q\nstderr %s", code, out, errs)
	}
	if n := g.ProfileCalls(messengertest.DefaultPage); n != 1 {
		t.Errorf("%d profile calls, want 1 GET", n)
	}
}

// TestMessengerSetupErrors: a profile the platform would refuse is an
// error at its position, before any request; so are missing settings and
// a token the double refuses.
func TestMessengerSetupErrors(t *testing.T) {
	g := newMessengerGraph(t)
	env := func(profile string) envMap {
		return envMap{"MESSENGER_PAGE_ID": messengertest.DefaultPage, "MESSENGER_PAGE_ACCESS_TOKEN": "page-token",
			"DMFLOW_MESSENGER_GRAPH_URL": g.URL, "DMFLOW_MESSENGER_PAGE_PROFILE": profile}
	}
	long := strings.Repeat("x", 161)
	for _, tt := range []struct{ name, profile, want string }{
		{"long greeting", "get_started: S\ngreeting: {default: " + long + "}\n", ":2:21: greeting.default: 161 characters, at most 160"},
		{"greeting without default", "greeting: {en_US: hi}\n", ":1:11: greeting: a default locale is required"},
		{"bad locale", "greeting: {default: hi, english: hi}\n", `:1:25: greeting: locale "english"`},
		{"five ice breakers", "ice_breakers:\n  default: [{question: a, payload: A}, {question: b, payload: B}, {question: c, payload: C}, {question: d, payload: D}, {question: e, payload: E}]\n", ":2:"},
		{"menu without get started", "persistent_menu:\n  default: [{type: postback, title: A, payload: A}]\n", "set get_started too"},
		{"unknown section", "welcome_message_flows: []\n", ":1:1: welcome_message_flows: unknown section"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			prof := writeFile(t, "page.yaml", tt.profile)
			code, _, errs := runCmd(t, env(prof), "messenger", "setup")
			if code != exitUsage || !strings.Contains(errs, prof) || !strings.Contains(errs, tt.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, errs, tt.want)
			}
		})
	}
	if n := g.ProfileCalls(messengertest.DefaultPage); n != 0 {
		t.Errorf("%d profile calls for invalid profiles", n)
	}
	code, _, errs := runCmd(t, envMap{"MESSENGER_PAGE_ID": "1"}, "messenger", "setup")
	if code != exitUsage || !strings.Contains(errs, "MESSENGER_PAGE_ACCESS_TOKEN") {
		t.Errorf("no token: exit %d: %s", code, errs)
	}
	bad := env("")
	bad["MESSENGER_PAGE_ACCESS_TOKEN"] = "wrong"
	code, _, errs = runCmd(t, bad, "messenger", "setup")
	if code != exitFail || !strings.Contains(errs, "Invalid OAuth access token") || strings.Contains(errs, "wrong") {
		t.Errorf("refused token: exit %d: %s", code, errs)
	}
	if code, _, errs := runCmd(t, env(""), "messenger", "reset"); code != exitUsage || !strings.Contains(errs, "want the subcommand setup") {
		t.Errorf("unknown subcommand: exit %d: %s", code, errs)
	}
}

// TestDocsMessengerPageProfile loads the Page profile documented in
// docs/messenger.md, so the documented YAML stays valid, and checks the
// doc names the command and its setting.
func TestDocsMessengerPageProfile(t *testing.T) {
	b, err := os.ReadFile("../docs/messenger.md")
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, block := range yamlBlocks(string(b)) {
		if !strings.Contains(block, "get_started:") {
			continue
		}
		found++
		p, err := loadPageProfile(writeFile(t, "page.yaml", block))
		if err != nil {
			t.Fatalf("documented profile does not load: %v\n%s", err, block)
		}
		if p.GetStarted == "" || len(p.Greeting) != 2 || len(p.IceBreakers) != 1 || len(p.PersistentMenu) != 1 {
			t.Errorf("documented profile: %+v", p)
		}
	}
	if found != 1 {
		t.Errorf("%d ```yaml blocks with get_started, want 1", found)
	}
	for _, want := range []string{"dmflow messenger setup", "--messenger-page-profile", "channels: [instagram, messenger]", "channel: messenger"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("docs/messenger.md does not mention %q", want)
		}
	}
}
