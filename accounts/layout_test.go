package accounts_test

import (
	"context"
	"maps"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/dmflow/dmflow/accounts"
)

func TestReadLayout(t *testing.T) {
	f := &fstest.MapFile{Data: []byte("flow: x\n")}
	for _, tc := range []struct {
		name    string
		files   fstest.MapFS
		multi   bool
		bundles map[string]string
		wantErr string
	}{
		{"flow files at the top: one bundle", fstest.MapFS{"flows/main.yaml": f, "flows/1784/main.yaml": f}, false, nil, ""},
		{"account sub-directories and default", fstest.MapFS{
			"flows/17841400000000001/main.yaml": f, "flows/17841400000000002/a.yml": f, "flows/default/main.yaml": f,
			"flows/README.md": f, "flows/.git/x": f, "flows/testdata/t.yaml": f, "flows/main.test.yaml": f,
		}, true, map[string]string{
			"17841400000000001": "flows/17841400000000001", "17841400000000002": "flows/17841400000000002", "default": "flows/default",
		}, ""},
		{"a misspelt account directory is an error", fstest.MapFS{
			"flows/17841400000000001/main.yaml": f, "flows/1784140000000000x/main.yaml": f, "flows/old/main.yaml": f,
		}, false, nil, "sub-directories 1784140000000000x, old are neither an account id"},
		{"no bundle at all: not multi (the loader explains)", fstest.MapFS{"flows/old/main.yaml": f}, false, nil, ""},
		{"a file", fstest.MapFS{"flows/main.yaml": f}, false, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := "flows"
			if tc.name == "a file" {
				path = "flows/main.yaml"
			}
			l, multi, err := accounts.ReadLayoutFS(tc.files, path)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || multi != tc.multi || (multi && !maps.Equal(l.Bundles, tc.bundles)) {
				t.Fatalf("multi %v bundles %v err %v; want multi %v bundles %v", multi, l.Bundles, err, tc.multi, tc.bundles)
			}
		})
	}
}

// TestPaths: the config file's explicit bundles win over the directory's,
// and accounts with settings only inherit the default bundle.
func TestPaths(t *testing.T) {
	f := &fstest.MapFile{Data: []byte("x")}
	fsys := fstest.MapFS{"flows/1/m.yaml": f, "flows/2/m.yaml": f, "flows/default/m.yaml": f, "other/m.yaml": f}
	var built []string
	p := &accounts.Paths{Dir: "flows", FS: fsys, Bundles: map[string]string{"2": "other"}, Inherit: []string{"3", "1"},
		Build: func(_ context.Context, account, path string) (accounts.Engine, error) {
			built = append(built, account+"="+path)
			return named(path), nil
		}}
	ids, err := p.Accounts()
	if err != nil || strings.Join(ids, ",") != "1,2,3,default" {
		t.Fatalf("accounts %v err %v", ids, err)
	}
	if _, err := accounts.New(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	want := "1=flows/1,2=other,3=flows/default,default=flows/default"
	if got := strings.Join(built, ","); got != want {
		t.Errorf("built %s, want %s", got, want)
	}
}

func TestDecodeYAML(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		check     func(t *testing.T, m map[string]accounts.Settings)
		wantErr   string
	}{
		{name: "full", src: `
"17841400000000001":
  flows: flows/shop
  messenger_profile: shop.yaml
  handoff_release: 2h
  access_token: tok
  notify: {url: "https://shop.example/hook", secret: s3}
  secrets: {ORDERS_TOKEN: abc}
default:
  handoff_release: 0s
`, check: func(t *testing.T, m map[string]accounts.Settings) {
			s := m["17841400000000001"]
			if s.Flows != "flows/shop" || s.MessengerProfile != "shop.yaml" || *s.HandoffRelease != 2*time.Hour ||
				s.NotifyURL != "https://shop.example/hook" || s.NotifySecret != "s3" || s.Secrets["ORDERS_TOKEN"] != "abc" || s.AccessToken != "tok" {
				t.Errorf("settings %+v", s)
			}
			if d := m["default"]; d.HandoffRelease == nil || *d.HandoffRelease != 0 {
				t.Errorf("default %+v", d)
			}
		}},
		{name: "bad id", src: "shop: {flows: x}\n", wantErr: "cfg.yaml:1:1: accounts: \"shop\" is not an account id"},
		{name: "unknown key", src: "\"1\": {flow: x}\n", wantErr: "cfg.yaml:1:7: accounts.1: unknown setting \"flow\""},
		{name: "notify needs a secret", src: "\"1\": {notify: {url: \"https://x.example\"}}\n", wantErr: "want both url and secret"},
		{name: "notify url", src: "\"1\": {notify: {url: \"ftp://x\", secret: s}}\n", wantErr: "want an absolute http(s) URL"},
		{name: "duration", src: "\"1\": {handoff_release: soon}\n", wantErr: "cfg.yaml:1:24: accounts.1.handoff_release: invalid duration"},
		{name: "not a mapping", src: "- 1\n", wantErr: "expected a mapping of account id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var doc yaml.Node
			if err := yaml.Unmarshal([]byte(tc.src), &doc); err != nil {
				t.Fatal(err)
			}
			m, err := accounts.DecodeYAML("cfg.yaml", doc.Content[0])
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, m)
		})
	}
}

func TestTable(t *testing.T) {
	hour, never := time.Hour, time.Duration(0)
	tb := &accounts.Table{
		Default: accounts.Settings{NotifyURL: "https://all.example", NotifySecret: "d", HandoffRelease: &hour, Secrets: map[string]string{"A": "default-a", "B": "default-b"}},
		Accounts: map[string]accounts.Settings{
			"1": {Secrets: map[string]string{"A": "one-a"}, HandoffRelease: &never},
			"2": {NotifyURL: "https://two.example", NotifySecret: "t"},
		},
	}
	for _, tc := range []struct {
		account, name string
		want          string
		ok            bool
	}{
		{"1", "A", "one-a", true}, {"1", "B", "default-b", true}, {"2", "A", "default-a", true}, {"9", "C", "", false},
	} {
		if got, ok := tb.Secret(tc.account, tc.name); got != tc.want || ok != tc.ok {
			t.Errorf("Secret(%s, %s) = %q %v", tc.account, tc.name, got, ok)
		}
	}
	if _, ok := tb.AccountSecret("2", "A"); ok {
		t.Error("AccountSecret falls back to the defaults")
	}
	if u, s := tb.Notify("2"); u != "https://two.example" || s != "t" {
		t.Errorf("Notify(2) = %s %s", u, s)
	}
	if u, _ := tb.Notify("1"); u != "https://all.example" {
		t.Errorf("Notify(1) = %s", u)
	}
	if r := tb.For("1").HandoffRelease; *r != 0 {
		t.Errorf("release %v", *r)
	}
	if r := tb.For("2").HandoffRelease; *r != time.Hour {
		t.Errorf("release %v", *r)
	}
}
