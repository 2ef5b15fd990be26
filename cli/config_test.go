package cli

import (
	"bytes"
	"errors"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// envMap is a fake environment.
type envMap map[string]string

func (e envMap) lookup(k string) (string, bool) { v, ok := e[k]; return v, ok }

// loadTest parses args as serve flags and loads the configuration.
func loadTest(t *testing.T, args []string, env envMap) (*serveConfig, error) {
	t.Helper()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(&bytes.Buffer{})
	declareFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	return loadConfig(fs, env.lookup)
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigDefaults(t *testing.T) {
	c, err := loadTest(t, nil, envMap{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8080" || c.DB != "./dmflow.db" || c.LogFormat != "text" || c.LogLevel != "info" ||
		c.Instagram.GraphURL != "https://graph.instagram.com" || c.SessionTTL != 90*24*time.Hour || c.Workers != 256 ||
		c.Senders != 128 || c.SendTimeout != 30*time.Second || c.DBNoSync {
		t.Fatalf("unexpected defaults: %+v", c)
	}
	if !c.Sandbox() {
		t.Fatal("no credentials must mean sandbox mode")
	}
	if err := c.validateServe(); err != nil {
		t.Fatalf("defaults must be valid: %v", err)
	}
}

func TestConfigPrecedence(t *testing.T) {
	file := writeFile(t, "dmflow.yaml", `
addr: 127.0.0.1:9001
log_level: debug
session_ttl: 48h
instagram:
  client_id: "from-file"
  graph_url: http://127.0.0.1:1/file
notify:
  url: https://hooks.example.com/dmflow
  secret: file-notify-secret
secrets:
  ORDERS_TOKEN: file-orders
  ONLY_FILE: only-in-file
`)
	env := envMap{
		"DMFLOW_CONFIG":              file,
		"DMFLOW_ADDR":                "127.0.0.1:9002",
		"INSTAGRAM_CLIENT_ID":        "from-env",
		"DMFLOW_LOG_LEVEL":           "warn",
		"DMFLOW_SECRET_ORDERS_TOKEN": "env-orders",
	}
	c, err := loadTest(t, []string{"--addr", "127.0.0.1:9003"}, env)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, got, want string }{
		{"flag beats env and file", c.Addr, "127.0.0.1:9003"},
		{"env beats file", c.Instagram.ClientID, "from-env"},
		{"env beats file (level)", c.LogLevel, "warn"},
		{"file beats default", c.Instagram.GraphURL, "http://127.0.0.1:1/file"},
		{"nested notify section", c.NotifyURL, "https://hooks.example.com/dmflow"},
		{"default stays", c.DB, "./dmflow.db"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, tc.got, tc.want)
		}
	}
	if c.SessionTTL != 48*time.Hour {
		t.Errorf("session_ttl from file: got %v", c.SessionTTL)
	}
	secret := c.secret(env.lookup)
	if v, _ := secret("ORDERS_TOKEN"); v != "env-orders" {
		t.Errorf("action secret: env must beat file, got %q", v)
	}
	if v, _ := secret("ONLY_FILE"); v != "only-in-file" {
		t.Errorf("action secret from file: got %q", v)
	}
	if _, ok := secret("MISSING"); ok {
		t.Error("unknown action secret must not resolve")
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		file string
		args []string
		env  envMap
		want string
	}{
		{"unknown key", "addr: x:1\nlisten: 1\n", nil, nil, "dmflow.yaml:2:1: unknown setting \"listen\""},
		{"unknown nested key", "instagram:\n  secret: x\n", nil, nil, "dmflow.yaml:2:3: unknown setting \"instagram.secret\""},
		{"bad duration in file", "session_ttl: forever\n", nil, nil, "dmflow.yaml:1:1: session_ttl: invalid duration \"forever\""},
		{"not a mapping", "- a\n- b\n", nil, nil, "expected a mapping"},
		{"bad yaml", "addr: [\n", nil, nil, "dmflow.yaml: yaml:"},
		{"bad env duration", "", nil, envMap{"DMFLOW_SHUTDOWN_TIMEOUT": "soon"}, "DMFLOW_SHUTDOWN_TIMEOUT: invalid duration"},
		{"bad flag number", "", []string{"--workers", "many"}, nil, "--workers: invalid number"},
		{"negative duration", "", []string{"--session-ttl", "-1h"}, nil, "--session-ttl: invalid duration"},
		{"negative gc headroom", "", nil, envMap{"DMFLOW_GC_HEADROOM": "-1"}, "DMFLOW_GC_HEADROOM: invalid number \"-1\" (want a whole number >= 0)"},
		{"missing file", "", []string{"--config", "/nonexistent/dmflow.yaml"}, nil, "config file:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := envMap{}
			for k, v := range tc.env {
				env[k] = v
			}
			if tc.file != "" {
				env["DMFLOW_CONFIG"] = writeFile(t, "dmflow.yaml", tc.file)
			}
			_, err := loadTest(t, tc.args, env)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
			if errExitCode(err) != exitUsage {
				t.Fatalf("configuration errors must exit %d", exitUsage)
			}
		})
	}
}

func TestConfigValidateServe(t *testing.T) {
	full := envMap{"INSTAGRAM_CLIENT_SECRET": "s3cret-app", "INSTAGRAM_WEBHOOK_VERIFY_TOKEN": "verify-me"}
	with := func(extra envMap) envMap {
		e := envMap{}
		for k, v := range full {
			e[k] = v
		}
		for k, v := range extra {
			e[k] = v
		}
		return e
	}
	for _, tc := range []struct {
		name string
		env  envMap
		want string // "" = valid
	}{
		{"production", full, ""},
		{"partial credentials", envMap{"INSTAGRAM_ACCESS_TOKEN": "IGAAx"}, "INSTAGRAM_CLIENT_SECRET"},
		{"no verify token", envMap{"INSTAGRAM_CLIENT_SECRET": "s"}, "INSTAGRAM_WEBHOOK_VERIFY_TOKEN"},
		{"bad log format", with(envMap{"DMFLOW_LOG_FORMAT": "xml"}), "log_format \"xml\""},
		{"bad log level", with(envMap{"DMFLOW_LOG_LEVEL": "loud"}), "log_level \"loud\""},
		{"bad store url", with(envMap{"DMFLOW_DATABASE_URL": "mysql://x"}), "postgres://"},
		{"postgres url", with(envMap{"DMFLOW_DATABASE_URL": "postgres://u:p@127.0.0.1/db"}), ""},
		{"bad addr", with(envMap{"DMFLOW_ADDR": "8080"}), "want host:port"},
		{"bad graph url", with(envMap{"DMFLOW_GRAPH_URL": "graph.instagram.com"}), "absolute http(s) URL"},
		{"notify without secret", with(envMap{"DMFLOW_NOTIFY_URL": "https://x.example/h"}), "notify.secret"},
		{"zero workers", with(envMap{"DMFLOW_WORKERS": "0"}), "workers"},
		{"tiny max body", with(envMap{"DMFLOW_MAX_BODY": "10"}), "max_body"},
		{"zero senders", with(envMap{"DMFLOW_SENDERS": "0"}), "senders"},
		{"gc headroom off", with(envMap{"DMFLOW_GC_HEADROOM": "0"}), ""},
		{"tiny send timeout", with(envMap{"DMFLOW_SEND_TIMEOUT": "1ms"}), "send_timeout"},
		{"nosync", with(envMap{"DMFLOW_DB_NOSYNC": "true", "DMFLOW_SEND_TIMEOUT": "250ms"}), ""},
		// Item: a partial credential set is an error naming what is missing, never sandbox mode.
		{"only meta app secret", envMap{"META_APP_SECRET": "m"}, "set: META_APP_SECRET); also set INSTAGRAM_CLIENT_SECRET"},
		{"only database url", envMap{"DMFLOW_DATABASE_URL": "postgres://127.0.0.1/db"}, "set: DMFLOW_DATABASE_URL); also set INSTAGRAM_CLIENT_SECRET"},
		{"only account id", envMap{"INSTAGRAM_ACCOUNT_ID": "1784"}, "INSTAGRAM_WEBHOOK_VERIFY_TOKEN"},
		{"only client id", envMap{"INSTAGRAM_CLIENT_ID": "1"}, "INSTAGRAM_CLIENT_SECRET"},
		{"only redirect uri", envMap{"INSTAGRAM_REDIRECT_URI": "https://x.example/cb"}, "INSTAGRAM_CLIENT_SECRET"},
		{"sandbox on postgres", envMap{"DMFLOW_SANDBOX": "true", "DMFLOW_DATABASE_URL": "postgres://127.0.0.1/db"}, ""},
		{"sandbox with credentials", envMap{"DMFLOW_SANDBOX": "true", "META_APP_SECRET": "m"}, "--sandbox is set together with Instagram credentials (META_APP_SECRET)"},
		// Item: a sandbox on a non-loopback address needs the public token.
		{"sandbox on 0.0.0.0", envMap{"DMFLOW_ADDR": "0.0.0.0:8080"}, "not a loopback address"},
		{"sandbox on all interfaces", envMap{"DMFLOW_ADDR": ":8080"}, "not a loopback address"},
		{"sandbox on a name", envMap{"DMFLOW_ADDR": "example.com:8080"}, "not a loopback address"},
		{"sandbox on ::", envMap{"DMFLOW_ADDR": "[::]:8080"}, "not a loopback address"},
		{"sandbox on localhost", envMap{"DMFLOW_ADDR": "localhost:0"}, ""},
		{"sandbox on 127.0.0.2", envMap{"DMFLOW_ADDR": "127.0.0.2:0"}, ""},
		{"sandbox on ::1", envMap{"DMFLOW_ADDR": "[::1]:0"}, ""},
		{"public sandbox", envMap{"DMFLOW_ADDR": "0.0.0.0:8080", "DMFLOW_SANDBOX_PUBLIC_TOKEN": "0123456789abcdef"}, ""},
		{"public sandbox short token", envMap{"DMFLOW_ADDR": "0.0.0.0:8080", "DMFLOW_SANDBOX_PUBLIC_TOKEN": "short"}, "too short"},
		{"public token in production", with(envMap{"DMFLOW_SANDBOX_PUBLIC_TOKEN": "0123456789abcdef"}), "not in sandbox mode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := loadTest(t, nil, tc.env)
			if err != nil {
				t.Fatal(err)
			}
			err = c.validateServe()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
			var ce *configError
			if !errors.As(err, &ce) {
				t.Fatalf("want a *configError, got %T", err)
			}
		})
	}
}

func TestConfigValidateAuth(t *testing.T) {
	c, err := loadTest(t, nil, envMap{"INSTAGRAM_CLIENT_ID": "1"})
	if err != nil {
		t.Fatal(err)
	}
	err = c.validateAuth()
	if err == nil || !strings.Contains(err.Error(), "INSTAGRAM_CLIENT_SECRET, INSTAGRAM_REDIRECT_URI") {
		t.Fatalf("err = %v", err)
	}
}

func TestLoggerRedactsSecrets(t *testing.T) {
	c, err := loadTest(t, nil, envMap{
		"INSTAGRAM_CLIENT_SECRET": "app-secret-123", "INSTAGRAM_ACCESS_TOKEN": "IGAAtoken456",
		"DMFLOW_ADMIN_TOKEN": "admin-789", "DMFLOW_DATABASE_URL": "postgres://dm:pgpass-000@127.0.0.1/dm",
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			environ := func() []string { return []string{"PATH=/bin", "DMFLOW_SECRET_ORDERS_TOKEN=orders-tok-555"} }
			log, err := newLogger(&buf, format, "debug", c.secretValues(IO{Environ: environ}))
			if err != nil {
				t.Fatal(err)
			}
			log.With("token", "IGAAtoken456").WithGroup("g").Info("calling with app-secret-123 and orders-tok-555",
				"url", "https://x/?access_token=IGAAtoken456", "err", errors.New("auth admin-789 failed"),
				slog.Group("db", "dsn", "postgres://dm:pgpass-000@127.0.0.1/dm"), "n", 3)
			out := buf.String()
			for _, s := range []string{"app-secret-123", "IGAAtoken456", "admin-789", "pgpass-000", "orders-tok-555"} {
				if strings.Contains(out, s) {
					t.Errorf("secret %q leaked: %s", s, out)
				}
			}
			if !strings.Contains(out, redactedMark) || !strings.Contains(out, "3") {
				t.Errorf("log line lost its content: %s", out)
			}
		})
	}
}

func TestDeclareFlagsSubset(t *testing.T) {
	fs := flag.NewFlagSet("auth", flag.ContinueOnError)
	declareFlags(fs, "db", "store")
	if fs.Lookup("db") == nil || fs.Lookup("store") == nil || fs.Lookup("addr") != nil {
		t.Fatal("declareFlags must declare exactly the named flags")
	}
}
