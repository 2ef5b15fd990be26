package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/adapters/instagram"
)

const profileYAML = `instagram:
  ice_breakers:
    default:
      - {question: "Where is my order?", payload: TRACK}
      - {question: "Talk to a person", payload: HUMAN}
    es_ES:
      - {question: "¿Dónde está mi pedido?", payload: TRACK}
  persistent_menu:
    default:
      - {type: postback, title: Talk to an agent, payload: AGENT}
      - {type: web_url, title: Shop, url: "https://shop.example.com"}
`

func TestMessengerProfileFromConfigFile(t *testing.T) {
	c, err := loadTest(t, []string{"--config", writeFile(t, "dmflow.yaml", profileYAML)}, envMap{})
	if err != nil {
		t.Fatal(err)
	}
	p := c.Instagram.Messenger
	wantIB := []instagram.Localized[instagram.IceBreaker]{
		{Locale: "default", Items: []instagram.IceBreaker{{Question: "Where is my order?", Payload: "TRACK"}, {Question: "Talk to a person", Payload: "HUMAN"}}},
		{Locale: "es_ES", Items: []instagram.IceBreaker{{Question: "¿Dónde está mi pedido?", Payload: "TRACK"}}},
	}
	wantMenu := []instagram.Localized[dmflow.Button]{{Locale: "default", Items: []dmflow.Button{
		{Type: "postback", Title: "Talk to an agent", Payload: "AGENT"},
		{Type: "web_url", Title: "Shop", URL: "https://shop.example.com"},
	}}}
	if !equalJSON(t, p.IceBreakers, wantIB) || !equalJSON(t, p.PersistentMenu, wantMenu) {
		t.Fatalf("got %+v / %+v", p.IceBreakers, p.PersistentMenu)
	}
}

func TestMessengerProfileFile(t *testing.T) {
	file := writeFile(t, "profile.yaml", "ice_breakers:\n  default:\n    - {question: \"Hi there?\", payload: HI}\n")
	c, err := loadTest(t, nil, envMap{"DMFLOW_MESSENGER_PROFILE": file})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Instagram.Messenger.IceBreakers) != 1 || len(c.Instagram.Messenger.PersistentMenu) != 0 {
		t.Fatalf("profile = %+v", c.Instagram.Messenger)
	}
}

// TestMessengerProfileErrors checks that every mistake is reported as
// file:line:col with what is wrong.
func TestMessengerProfileErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"no default", "instagram:\n  ice_breakers:\n    en_US:\n      - {question: Q, payload: P}\n",
			":3:5: instagram.ice_breakers: a default locale is required"},
		{"five", "instagram:\n  ice_breakers:\n    default:\n" + strings.Repeat("      - {question: Q, payload: P}\n", 5),
			":8:9: instagram.ice_breakers.default: 5 ice breakers, at most 4 per locale"},
		{"bad locale", "instagram:\n  persistent_menu:\n    english:\n      - {type: postback, title: T, payload: P}\n",
			":3:5: instagram.persistent_menu: locale \"english\""},
		{"missing payload", "instagram:\n  ice_breakers:\n    default:\n      - {question: Q}\n",
			":4:9: instagram.ice_breakers.default[0]: missing payload"},
		{"unknown key", "instagram:\n  ice_breakers:\n    default:\n      - {question: Q, payload: P, url: x}\n",
			":4:35: instagram.ice_breakers.default[0]: unknown key \"url\""},
		{"empty question", "instagram:\n  ice_breakers:\n    default:\n      - {question: \"\", payload: P}\n",
			":4:20: instagram.ice_breakers.default[0].question: expected a non-empty string"},
		{"web_url without url", "instagram:\n  persistent_menu:\n    default:\n      - {type: web_url, title: Shop, payload: X}\n",
			":4:9: instagram.persistent_menu.default[0]: want type postback with a payload, or type web_url with a url"},
		{"relative url", "instagram:\n  persistent_menu:\n    default:\n      - {type: web_url, title: Shop, url: /shop}\n",
			":4:9: instagram.persistent_menu.default[0]: url \"/shop\": want an absolute http(s) URL"},
		{"not a list", "instagram:\n  persistent_menu:\n    default: AGENT\n",
			":3:14: instagram.persistent_menu.default: expected a non-empty list"},
		{"bad bool", "instagram:\n  setup_on_start: maybe\n", ":2:3: instagram.setup_on_start: invalid boolean"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := writeFile(t, "dmflow.yaml", tc.yaml)
			_, err := loadTest(t, []string{"--config", file}, envMap{})
			if err == nil || !strings.Contains(err.Error(), file+tc.want) {
				t.Fatalf("error %v\nwant %s%s", err, file, tc.want)
			}
			if errExitCode(err) != exitUsage {
				t.Fatalf("exit code %d, want %d", errExitCode(err), exitUsage)
			}
		})
	}
}

func TestMessengerProfileDeclaredTwice(t *testing.T) {
	cfgFile := writeFile(t, "dmflow.yaml", "instagram:\n  ice_breakers:\n    default:\n      - {question: Q, payload: P}\n")
	profile := writeFile(t, "profile.yaml", "ice_breakers:\n  default:\n    - {question: Q, payload: P}\n")
	_, err := loadTest(t, []string{"--config", cfgFile, "--messenger-profile", profile}, envMap{})
	if err == nil || !strings.Contains(err.Error(), profile+":1:1: ice_breakers: already declared at "+cfgFile+":2:3") {
		t.Fatalf("error %v", err)
	}
	bad := writeFile(t, "profile.yaml", "ice_breaker:\n  default: []\n")
	_, err = loadTest(t, []string{"--messenger-profile", bad}, envMap{})
	if err == nil || !strings.Contains(err.Error(), bad+":1:1: ice_breaker: unknown section") {
		t.Fatalf("error %v", err)
	}
}

func TestSetupOnStartFlag(t *testing.T) {
	c, err := loadTest(t, []string{"--instagram-setup-on-start"}, envMap{})
	if err != nil || !c.Instagram.SetupOnStart {
		t.Fatalf("--instagram-setup-on-start: %v, %v", c, err)
	}
	c, err = loadTest(t, nil, envMap{"DMFLOW_INSTAGRAM_SETUP_ON_START": "true"})
	if err != nil || !c.Instagram.SetupOnStart {
		t.Fatalf("DMFLOW_INSTAGRAM_SETUP_ON_START: %v", err)
	}
}

// equalJSON compares got and want by their JSON encodings.
func equalJSON(t *testing.T, got, want any) bool {
	t.Helper()
	g, err1 := json.Marshal(got)
	w, err2 := json.Marshal(want)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	return string(g) == string(w)
}
