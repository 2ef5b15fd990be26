package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dmflow/dmflow/adapters/instagram/igtest"
	"github.com/dmflow/dmflow/store/bolt"
)

// TestValidateAgainstPerAccount: with a per-account flows directory, each
// session is checked against its account's bundle (else default/).
func TestValidateAgainstPerAccount(t *testing.T) {
	db := seededBolt(t) // sessions of testAccount
	for _, tc := range []struct {
		name    string
		bundles map[string]string // sub-directory → main.yaml
		want    string
	}{
		{"the account's own bundle", map[string]string{testAccount: flowV1, "default": strandingFlow}, "4 sessions checked, 1 stranded, 0 migrated"},
		{"the default bundle", map[string]string{"17841400000000001": flowV1, "default": strandingFlow}, "4 sessions checked, 2 stranded, 0 migrated"},
		{"no bundle for the account", map[string]string{"17841400000000001": flowV1}, "no bundle for account " + testAccount},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "flows")
			for sub, src := range tc.bundles {
				if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, sub, "main.yaml"), []byte(src), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			code, out, errs := runCmd(t, envMap{}, "validate", "--against", db, dir)
			if code != exitFail || !strings.Contains(out, tc.want) {
				t.Fatalf("exit %d, want %d and %q\nstdout:\n%s\nstderr:\n%s", code, exitFail, tc.want, out, errs)
			}
		})
	}
}

// TestConfigAccounts: the config file's accounts: section gives each
// account its settings over the deployment's, resolves secrets account
// first and keeps every per-account secret out of the logs.
func TestConfigAccounts(t *testing.T) {
	profile := writeFile(t, "shop-profile.yaml", "ice_breakers:\n  default:\n    - {question: \"Opening hours?\", payload: HOURS}\n")
	file := writeFile(t, "dmflow.yaml", `
handoff_release: 24h
notify: {url: "https://all.example/hook", secret: all-notify-secret}
secrets: {ORDERS_TOKEN: deployment-orders}
accounts:
  "17841400000000001":
    flows: flows/shop
    messenger_profile: `+profile+`
    handoff_release: 2h
    notify: {url: "https://shop.example/hook", secret: shop-notify-secret}
    secrets: {ORDERS_TOKEN: shop-orders}
    access_token: shop-access-token
  default:
    handoff_release: 0s
`)
	c, err := loadTest(t, []string{"--config", file}, envMap{})
	if err != nil {
		t.Fatal(err)
	}
	tb := c.accountTable()
	shop, other := tb.For("17841400000000001"), tb.For("17841400000000002")
	if shop.Flows != "flows/shop" || *shop.HandoffRelease != 2*time.Hour || shop.NotifyURL != "https://shop.example/hook" {
		t.Errorf("shop %+v", shop)
	}
	if *other.HandoffRelease != 0 || other.NotifyURL != "https://all.example/hook" || other.NotifySecret != "all-notify-secret" {
		t.Errorf("other %+v (accounts.default overrides the deployment's handoff_release)", other)
	}
	secret := c.secret(envMap{}.lookup)
	if v, _ := tb.AccountSecret("17841400000000001", "ORDERS_TOKEN"); v != "shop-orders" {
		t.Errorf("shop secret %q", v)
	}
	if _, ok := tb.AccountSecret("17841400000000002", "ORDERS_TOKEN"); ok {
		t.Error("another account must fall back to the deployment's secrets")
	}
	if v, _ := secret("ORDERS_TOKEN"); v != "deployment-orders" {
		t.Errorf("deployment secret %q", v)
	}
	if p := c.messengerFor("17841400000000001"); len(p.IceBreakers) != 1 {
		t.Errorf("shop profile %+v", p)
	}
	if p := c.messengerFor("17841400000000002"); len(p.IceBreakers) != 0 {
		t.Errorf("other profile %+v", p)
	}
	vals := strings.Join(c.secretValues(IO{}), "\n")
	for _, s := range []string{"shop-orders", "shop-notify-secret", "shop-access-token", "all-notify-secret", "deployment-orders"} {
		if !strings.Contains(vals, s) {
			t.Errorf("%s is not redacted from the logs", s)
		}
	}
	bad := writeFile(t, "bad.yaml", "accounts:\n  shop: {flows: x}\n")
	if _, err := loadTest(t, []string{"--config", bad}, envMap{}); err == nil || !strings.Contains(err.Error(), `bad.yaml:2:3: accounts: "shop" is not an account id`) {
		t.Errorf("bad id: %v", err)
	}
}

// TestInstagramSetupPerAccount: dmflow instagram setup sets up every
// account with an access_token in the config file, each with its own
// messenger profile (else the deployment's).
func TestInstagramSetupPerAccount(t *testing.T) {
	const shop, salon = igtest.DefaultAccount, "17841400000000002"
	graph := igtest.NewServer(igtest.Config{AccessTokens: map[string]string{"shop-token": shop, "salon-token": salon}})
	t.Cleanup(graph.Close)
	shopProfile := writeFile(t, "shop.yaml", "ice_breakers:\n  default:\n    - {question: \"Opening hours?\", payload: HOURS}\n")
	cfg := writeFile(t, "dmflow.yaml", profileYAML+`accounts:
  "`+shop+`": {access_token: shop-token, messenger_profile: `+shopProfile+`}
  "`+salon+`": {access_token: salon-token}
`)
	db := filepath.Join(t.TempDir(), "d.db")
	st, err := bolt.Open(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	code, out, errs := runCmd(t, envMap{"DMFLOW_GRAPH_URL": graph.URL}, "instagram", "setup", "--config", cfg, "--db", db)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if ib := string(graph.MessengerProfile(shop)["ice_breakers"]); !strings.Contains(ib, `"payload":"HOURS"`) || strings.Contains(ib, "TRACK") {
		t.Errorf("shop ice breakers %s", ib)
	}
	checkSetUp(t, graph, salon)
	for _, a := range []string{shop, salon} {
		if !strings.Contains(out, "account "+a+":") {
			t.Errorf("output lacks account %s:\n%s", a, out)
		}
	}
	if strings.Contains(out+errs, "shop-token") {
		t.Error("a token was printed")
	}
}
