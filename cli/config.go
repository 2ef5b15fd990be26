package cli

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dmflow/dmflow/accounts"
	"gopkg.in/yaml.v3"
)

// serveConfig is the configuration shared by serve, auth and migrate. It is
// filled from, in increasing precedence: defaults, the YAML config file
// (--config / DMFLOW_CONFIG), environment variables, then flags.
type serveConfig struct {
	ConfigFile      string
	Addr            string
	DB              string
	StoreURL        string
	Flows           string
	AdminToken      string
	LogFormat       string
	LogLevel        string
	ShutdownTimeout time.Duration
	SessionTTL      time.Duration
	RetainHistory   time.Duration
	RetainDelivered time.Duration
	RetainDead      time.Duration
	RetainNotices   time.Duration
	PublicURL       string
	HandoffRelease  time.Duration
	DropOff         time.Duration
	Workers         int
	Lease           time.Duration
	Heartbeat       time.Duration
	Migrate         bool
	MaxBody         int
	GCHeadroom      int // MiB
	SandboxAccount  string
	SandboxForce    bool   // --sandbox: sandbox mode even with a store URL
	SandboxToken    string // --sandbox-public-token: allows a non-loopback address
	DBNoSync        bool
	Senders         int
	SendTimeout     time.Duration

	Instagram igConfig
	// Messenger is the optional Facebook Messenger channel (serve_messenger.go).
	Messenger msgrConfig

	NotifyURL    string
	NotifySecret string
	// Secrets are the action secrets of the config file's `secrets:` map;
	// DMFLOW_SECRET_<NAME> environment variables override them.
	Secrets map[string]string
	// Accounts are the config file's per-account settings (accounts:),
	// keyed by account id or accounts.Default; AccountProfiles their
	// messenger profiles read from their messenger_profile files.
	Accounts        map[string]accounts.Settings
	AccountProfiles map[string]*messengerProfile
}

// igConfig holds the Instagram app settings.
type igConfig struct {
	ClientID      string
	ClientSecret  string
	RedirectURI   string
	VerifyToken   string
	AccessToken   string
	AccountID     string
	GraphURL      string
	APIVersion    string
	MetaAppSecret string
	// InboxAppID is the app a `handoff: {inbox: true}` passes the thread to.
	InboxAppID string
	// MessengerProfileFile names a YAML file of ice_breakers and
	// persistent_menu; SetupOnStart makes serve apply them (and subscribe
	// the account) like `dmflow instagram setup`.
	MessengerProfileFile string
	SetupOnStart         bool
	// Messenger holds the ice breakers and persistent menu, from the config
	// file's instagram section or from MessengerProfileFile.
	Messenger messengerProfile
}

// configSetting is one configuration value: its flag, environment variable and
// config-file key, and where it is stored.
type configSetting struct {
	Flag    string // flag name without dashes
	Env     string
	Key     string // dotted config-file key ("instagram.client_id")
	Default string
	Help    string
	Secret  bool // never logged; redactedMark from every log line
	ptr     any  // *string, *time.Duration, *int or *bool
}

// envSecretPrefix prefixes the environment variables that hold action
// secrets: DMFLOW_SECRET_ORDERS_TOKEN resolves ${ORDERS_TOKEN}.
const envSecretPrefix = "DMFLOW_SECRET_"

// configSettings lists every configuration value bound to c. It is the single
// source of the flags, the environment, the config-file keys and the
// configuration table in docs/operations.md.
func configSettings(c *serveConfig) []configSetting {
	ig := &c.Instagram
	return []configSetting{
		{"config", "DMFLOW_CONFIG", "", "", "YAML config file with the settings below (keys as in docs/operations.md)", false, &c.ConfigFile},
		{"addr", "DMFLOW_ADDR", "addr", "127.0.0.1:8080", "listen address; use 0.0.0.0:8080 only behind a TLS reverse proxy", false, &c.Addr},
		{"db", "DMFLOW_DB", "db", "./dmflow.db", "bbolt data file (ignored with --store)", false, &c.DB},
		{"store", "DMFLOW_DATABASE_URL", "store", "", "PostgreSQL URL (postgres://…); replaces the bbolt file", true, &c.StoreURL},
		{"flows", "DMFLOW_FLOWS", "flows", "", "flow file or directory (default ./flows, else the embedded example)", false, &c.Flows},
		{"admin-token", "DMFLOW_ADMIN_TOKEN", "admin_token", "", "bearer token of the admin API (empty: admin API off)", true, &c.AdminToken},
		{"log-format", "DMFLOW_LOG_FORMAT", "log_format", "text", "log format: text or json", false, &c.LogFormat},
		{"log-level", "DMFLOW_LOG_LEVEL", "log_level", "info", "log level: debug, info, warn, error", false, &c.LogLevel},
		{"shutdown-timeout", "DMFLOW_SHUTDOWN_TIMEOUT", "shutdown_timeout", "20s", "how long SIGTERM waits for in-flight work", false, &c.ShutdownTimeout},
		{"session-ttl", "DMFLOW_SESSION_TTL", "session_ttl", "2160h", "delete sessions idle this long (0: keep forever)", false, &c.SessionTTL},
		{"retain-history", "DMFLOW_RETAIN_HISTORY", "retain_history", "720h", "delete done and failed inbox items (the conversation history) after this long (0: keep forever)", false, &c.RetainHistory},
		{"retain-delivered", "DMFLOW_RETAIN_DELIVERED", "retain_delivered", "168h", "forget the record of a delivered reply (its echo dedupe key) after this long (0: keep forever)", false, &c.RetainDelivered},
		{"retain-dead-letters", "DMFLOW_RETAIN_DEAD_LETTERS", "retain_dead_letters", "720h", "delete replies that failed permanently after this long (0: keep forever)", false, &c.RetainDead},
		{"retain-notices", "DMFLOW_RETAIN_NOTICES", "retain_notices", "720h", "delete outgoing webhooks not delivered (pending or dead) after this long (0: keep forever)", false, &c.RetainNotices},
		{"public-url", "DMFLOW_PUBLIC_URL", "public_url", "", "the server's public https base URL, for links Meta shows (data deletion status); default: the origin of the redirect URI", false, &c.PublicURL},
		{"handoff-release", "DMFLOW_HANDOFF_RELEASE", "handoff_release", "24h", "give a handed-off conversation back to the bot after this idle time, for handoffs without release_after (0: never)", false, &c.HandoffRelease},
		{"dropoff", "DMFLOW_DROPOFF", "dropoff", "24h", "funnels: a session that gets no message within this long after the last one counts as dropped off in its state (dmflow admin stats; 0: do not count; off in the sandbox)", false, &c.DropOff},
		{"workers", "DMFLOW_WORKERS", "workers", "256", "inbox workers (users processed in parallel)", false, &c.Workers},
		{"lease", "DMFLOW_LEASE", "lease", "30s", "how long a replica holds a user's inbox and outbox work while it is alive (PostgreSQL: a crashed replica's work is taken over after 3 heartbeats instead)", false, &c.Lease},
		{"heartbeat", "DMFLOW_HEARTBEAT", "heartbeat", "1s", "PostgreSQL: how often a replica records that it is alive; other replicas take a replica's users, replies and action calls over once it missed 3 heartbeats", false, &c.Heartbeat},
		{"migrate", "DMFLOW_MIGRATE", "migrate", "false", "PostgreSQL: serve applies the embedded schema migrations at start (under the advisory lock, like dmflow migrate) instead of refusing a schema that is behind", false, &c.Migrate},
		{"max-body", "DMFLOW_MAX_BODY", "max_body", "1048576", "largest accepted webhook body in bytes (larger: 413)", false, &c.MaxBody},
		{"gc-headroom", "DMFLOW_GC_HEADROOM", "gc_headroom", "32", "MiB the heap may grow beyond its live data before Go's garbage collector runs, when that is more than GOGC allows (0: Go's default; ignored when GOGC is set)", false, &c.GCHeadroom},
		{"db-nosync", "DMFLOW_DB_NOSYNC", "db_nosync", "false", "UNSAFE, for benchmarks only: do not fsync the bbolt file (a machine crash can lose acknowledged events or corrupt the file)", false, &c.DBNoSync},
		{"senders", "DMFLOW_SENDERS", "senders", "128", "users whose replies are sent at the same time (each holds one Graph API connection while sending)", false, &c.Senders},
		{"send-timeout", "DMFLOW_SEND_TIMEOUT", "send_timeout", "30s", "timeout of one Graph API request; a timed-out send is retried, so it may arrive twice", false, &c.SendTimeout},
		{"sandbox", "DMFLOW_SANDBOX", "sandbox", "false", "serve: sandbox mode even with --store (a PostgreSQL sandbox); an error together with Instagram credentials", false, &c.SandboxForce},
		{"sandbox-public-token", "DMFLOW_SANDBOX_PUBLIC_TOKEN", "sandbox_public_token", "", "sandbox mode on a non-loopback --addr: the token every studio request must carry (open /sandbox/?token=TOKEN once; API clients send Authorization: Bearer TOKEN)", true, &c.SandboxToken},
		{"sandbox-account", "DMFLOW_SANDBOX_ACCOUNT", "sandbox_account", "17841400000000000", "business account id the sandbox pretends to be", false, &c.SandboxAccount},
		{"client-id", "INSTAGRAM_CLIENT_ID", "instagram.client_id", "", "Instagram app id (OAuth)", false, &ig.ClientID},
		{"client-secret", "INSTAGRAM_CLIENT_SECRET", "instagram.client_secret", "", "Instagram app secret: OAuth and webhook signatures", true, &ig.ClientSecret},
		{"redirect-uri", "INSTAGRAM_REDIRECT_URI", "instagram.redirect_uri", "", "OAuth redirect URI registered for the app", false, &ig.RedirectURI},
		{"verify-token", "INSTAGRAM_WEBHOOK_VERIFY_TOKEN", "instagram.verify_token", "", "webhook verification token typed in the App Dashboard", true, &ig.VerifyToken},
		{"access-token", "INSTAGRAM_ACCESS_TOKEN", "instagram.access_token", "", "long-lived access token from the App Dashboard (alternative to dmflow auth)", true, &ig.AccessToken},
		{"account-id", "INSTAGRAM_ACCOUNT_ID", "instagram.account_id", "", "Instagram business account id (IG_ID); default: asked from GET /me", false, &ig.AccountID},
		{"graph-url", "DMFLOW_GRAPH_URL", "instagram.graph_url", "https://graph.instagram.com", "Graph API base URL (point it at a test double)", false, &ig.GraphURL},
		{"graph-version", "DMFLOW_GRAPH_VERSION", "instagram.graph_version", "v25.0", "Graph API version", false, &ig.APIVersion},
		{"inbox-app-id", "DMFLOW_INBOX_APP_ID", "instagram.inbox_app_id", "1217981644879628", "app that handoff: {inbox: true} passes conversations to (conversation routing; default Meta's Instagram inbox, 263902037430900 is the Page inbox)", false, &ig.InboxAppID},
		{"meta-app-secret", "META_APP_SECRET", "instagram.meta_app_secret", "", "second accepted webhook signing secret (the Meta app secret)", true, &ig.MetaAppSecret},
		{"messenger-profile", "DMFLOW_MESSENGER_PROFILE", "instagram.messenger_profile", "", "YAML file with ice_breakers and persistent_menu (instead of those keys under instagram: in the config file)", false, &ig.MessengerProfileFile},
		{"instagram-setup-on-start", "DMFLOW_INSTAGRAM_SETUP_ON_START", "instagram.setup_on_start", "false", "serve: on start set the ice breakers and persistent menu and subscribe the account, like dmflow instagram setup", false, &ig.SetupOnStart},
		{"messenger-page-id", "MESSENGER_PAGE_ID", "messenger.page_id", "", "serve: also answer this Facebook Page on Messenger (POST/GET /webhook/messenger); needs the three settings below", false, &c.Messenger.PageID},
		{"messenger-page-token", "MESSENGER_PAGE_ACCESS_TOKEN", "messenger.page_token", "", "Page access token of the Messenger Page (Send API)", true, &c.Messenger.PageToken},
		{"messenger-app-secret", "MESSENGER_APP_SECRET", "messenger.app_secret", "", "Meta app secret that signs Messenger webhooks", true, &c.Messenger.AppSecret},
		{"messenger-verify-token", "MESSENGER_WEBHOOK_VERIFY_TOKEN", "messenger.verify_token", "", "Messenger webhook verification token typed in the App Dashboard", true, &c.Messenger.VerifyToken},
		{"messenger-graph-url", "DMFLOW_MESSENGER_GRAPH_URL", "messenger.graph_url", "https://graph.facebook.com", "Messenger Send API base URL (point it at a test double)", false, &c.Messenger.GraphURL},
		{"messenger-page-profile", "DMFLOW_MESSENGER_PAGE_PROFILE", "messenger.profile", "", "YAML file with the Page's get_started, greeting, ice_breakers and persistent_menu, applied by 'dmflow messenger setup'", false, &c.Messenger.ProfileFile},
		{"notify-url", "DMFLOW_NOTIFY_URL", "notify.url", "", "outgoing webhook URL for notices (message received, reply sent, …)", false, &c.NotifyURL},
		{"notify-secret", "DMFLOW_NOTIFY_SECRET", "notify.secret", "", "HMAC secret signing outgoing webhooks", true, &c.NotifySecret},
	}
}

// configError is a configuration error: the command exits 2.
type configError struct{ msg string }

func (e *configError) Error() string { return e.msg }

func configErrorf(format string, args ...any) error {
	return &configError{fmt.Sprintf(format, args...)}
}

// declareFlags declares the flags named in names (all settings when names
// is empty) on fs. Values are read back by loadConfig.
func declareFlags(fs *flag.FlagSet, names ...string) {
	for _, s := range configSettings(&serveConfig{}) {
		if len(names) > 0 && !slices.Contains(names, s.Flag) {
			continue
		}
		help := s.Help + " (env " + s.Env + ")"
		if s.Secret {
			help += "; prefer the environment or the config file for secrets"
		}
		if _, ok := s.ptr.(*bool); ok {
			fs.Bool(s.Flag, s.Default == "true", help)
			continue
		}
		fs.String(s.Flag, s.Default, help)
	}
}

// loadConfig builds the configuration from defaults, the config file, the
// environment and the flags set on fs (already parsed). Errors are
// *configError values that say which source holds the bad value.
func loadConfig(fs *flag.FlagSet, env func(string) (string, bool)) (*serveConfig, error) {
	c := &serveConfig{Secrets: map[string]string{}}
	ss := configSettings(c)
	for i := range ss {
		if err := assignSetting(&ss[i], ss[i].Default); err != nil {
			return nil, configErrorf("default of --%s: %v", ss[i].Flag, err)
		}
	}
	flagVals := map[string]string{}
	fs.Visit(func(f *flag.Flag) { flagVals[f.Name] = f.Value.String() })
	c.ConfigFile = configFirstSet(flagVals["config"], env, "DMFLOW_CONFIG")
	if c.ConfigFile != "" {
		if err := applyConfigFile(c, ss, c.ConfigFile); err != nil {
			return nil, err
		}
	}
	for i := range ss {
		if err := applyEnvAndFlag(&ss[i], env, flagVals); err != nil {
			return nil, err
		}
	}
	if c.Instagram.MessengerProfileFile != "" {
		if err := c.Instagram.Messenger.loadFile(c.Instagram.MessengerProfileFile); err != nil {
			return nil, err
		}
	}
	if err := c.loadAccountProfiles(); err != nil {
		return nil, err
	}
	return c, nil
}

func configFirstSet(flagVal string, env func(string) (string, bool), name string) string {
	if flagVal != "" {
		return flagVal
	}
	v, _ := env(name)
	return v
}

func applyEnvAndFlag(s *configSetting, env func(string) (string, bool), flagVals map[string]string) error {
	if v, ok := env(s.Env); ok && v != "" {
		if err := assignSetting(s, v); err != nil {
			return configErrorf("%s: %v", s.Env, err)
		}
	}
	if v, ok := flagVals[s.Flag]; ok {
		if err := assignSetting(s, v); err != nil {
			return configErrorf("--%s: %v", s.Flag, err)
		}
	}
	return nil
}

// assignSetting parses raw into the setting's variable.
func assignSetting(s *configSetting, raw string) error {
	raw = strings.TrimSpace(raw)
	switch p := s.ptr.(type) {
	case *string:
		*p = raw
	case *time.Duration:
		d, err := time.ParseDuration(raw)
		if err != nil || d < 0 {
			return fmt.Errorf("invalid duration %q (want e.g. 30s, 15m, 24h)", raw)
		}
		*p = d
	case *bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return fmt.Errorf("invalid boolean %q (want true or false)", raw)
		}
		*p = b
	case *int:
		n, err := strconv.Atoi(raw)
		if err != nil || n < 0 {
			return fmt.Errorf("invalid number %q (want a whole number >= 0)", raw)
		}
		*p = n
	default:
		panic(fmt.Sprintf("config: setting %s has unsupported type %T", s.Flag, s.ptr))
	}
	return nil
}

// applyConfigFile reads the YAML config file: a mapping of the keys listed by
// configSettings (nested "instagram:" and "notify:" sections) plus "secrets:".
func applyConfigFile(c *serveConfig, ss []configSetting, path string) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return configErrorf("config file: %v", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return configErrorf("%s: %v", path, err)
	}
	if len(doc.Content) == 0 {
		return nil // empty file
	}
	byKey := map[string]*configSetting{}
	for i := range ss {
		if ss[i].Key != "" {
			byKey[ss[i].Key] = &ss[i]
		}
	}
	return walkConfigFile(c, byKey, path, "", doc.Content[0])
}

func walkConfigFile(c *serveConfig, byKey map[string]*configSetting, path, prefix string, n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return configErrorf("%s:%d:%d: %s: expected a mapping of settings", path, n.Line, n.Column, configPath(prefix))
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := prefix + k.Value
		if err := configFileEntry(c, byKey, path, key, k, v); err != nil {
			return err
		}
	}
	return nil
}

func configFileEntry(c *serveConfig, byKey map[string]*configSetting, path, key string, k, v *yaml.Node) error {
	at := fmt.Sprintf("%s:%d:%d", path, k.Line, k.Column)
	switch {
	case key == "secrets":
		return configFileSecrets(c, path, v)
	case key == "accounts":
		m, err := accounts.DecodeYAML(path, v)
		if err != nil {
			return &configError{err.Error()}
		}
		c.Accounts = m
		return nil
	case key == "instagram.welcome_message_flows":
		return c.Instagram.Messenger.decodeWelcomeFlows(path, key, k, v)
	case key == "instagram.ice_breakers" || key == "instagram.persistent_menu":
		return c.Instagram.Messenger.decodeField(path, strings.TrimPrefix(key, "instagram."), key, k, v)
	case key == "instagram" || key == "notify" || key == "messenger":
		return walkConfigFile(c, byKey, path, key+".", v)
	case byKey[key] == nil:
		return configErrorf("%s: unknown setting %q (known: %s)", at, key, strings.Join(configKnownKeys(byKey), ", "))
	case v.Kind != yaml.ScalarNode:
		return configErrorf("%s: %s: expected a single value", at, key)
	}
	if err := assignSetting(byKey[key], v.Value); err != nil {
		return configErrorf("%s: %s: %v", at, key, err)
	}
	return nil
}

func configFileSecrets(c *serveConfig, path string, n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return configErrorf("%s:%d:%d: secrets: expected a mapping NAME: value", path, n.Line, n.Column)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if v.Kind != yaml.ScalarNode {
			return configErrorf("%s:%d:%d: secrets.%s: expected a string", path, k.Line, k.Column, k.Value)
		}
		c.Secrets[k.Value] = v.Value
	}
	return nil
}

func configKnownKeys(byKey map[string]*configSetting) []string {
	keys := make([]string, 0, len(byKey)+1)
	for k := range byKey {
		keys = append(keys, k)
	}
	keys = append(keys, "secrets", "accounts", "instagram.ice_breakers", "instagram.persistent_menu")
	sort.Strings(keys)
	return keys
}

func configPath(prefix string) string {
	if prefix == "" {
		return "file"
	}
	return strings.TrimSuffix(prefix, ".")
}

// sandboxDB is the default bbolt file of sandbox mode, distinct from the
// production default so the sandbox never opens production data by accident.
const sandboxDB = "./dmflow-sandbox.db"

// credentialSettings are the settings that select production mode: any of
// them set means serve talks to the real Instagram (and then the webhook
// secret and verify token are required); none set means sandbox mode.
// A store URL counts too: a PostgreSQL database is production data unless
// --sandbox says otherwise.
func (c *serveConfig) credentialSettings() []struct{ name, value string } {
	ig := c.Instagram
	return []struct{ name, value string }{
		{"INSTAGRAM_CLIENT_ID", ig.ClientID},
		{"INSTAGRAM_CLIENT_SECRET", ig.ClientSecret},
		{"INSTAGRAM_REDIRECT_URI", ig.RedirectURI},
		{"INSTAGRAM_WEBHOOK_VERIFY_TOKEN", ig.VerifyToken},
		{"INSTAGRAM_ACCESS_TOKEN", ig.AccessToken},
		{"INSTAGRAM_ACCOUNT_ID", ig.AccountID},
		{"META_APP_SECRET", ig.MetaAppSecret},
		{"DMFLOW_DATABASE_URL", c.StoreURL},
	}
}

// setCredentials names the credential settings that are set; withStore
// includes DMFLOW_DATABASE_URL.
func (c *serveConfig) setCredentials(withStore bool) []string {
	var set []string
	for _, s := range c.credentialSettings() {
		if s.value != "" && (withStore || s.name != "DMFLOW_DATABASE_URL") {
			set = append(set, s.name)
		}
	}
	return set
}

// Sandbox reports whether serve runs in sandbox mode: --sandbox, or no
// credential setting at all (credentialSettings). serve then runs the
// in-process Graph API double and the /sandbox studio.
func (c *serveConfig) Sandbox() bool {
	return c.SandboxForce || len(c.setCredentials(true)) == 0
}

// sandboxDBPath is the bbolt file serve opens in sandbox mode: the
// production default ./dmflow.db becomes ./dmflow-sandbox.db.
func (c *serveConfig) sandboxDBPath() string {
	if c.DB == "./dmflow.db" || c.DB == "dmflow.db" {
		return sandboxDB
	}
	return c.DB
}

// validateSandbox checks sandbox mode: no Instagram credentials with
// --sandbox, and a loopback address unless --sandbox-public-token is set.
func (c *serveConfig) validateSandbox() error {
	if set := c.setCredentials(false); len(set) > 0 {
		return configErrorf("--sandbox is set together with Instagram credentials (%s): unset them, or drop --sandbox to serve Instagram",
			strings.Join(set, ", "))
	}
	if c.SandboxToken != "" && len(c.SandboxToken) < 16 {
		return configErrorf("sandbox_public_token is too short (at least 16 characters; e.g. openssl rand -hex 16)")
	}
	host, _, _ := net.SplitHostPort(c.Addr)
	if !loopbackHost(host) && c.SandboxToken == "" {
		return configErrorf("addr %q is not a loopback address: sandbox mode has no authentication and would let anyone who reaches %s drive the bot. "+
			"Listen on 127.0.0.1 (the default), or set --sandbox-public-token (DMFLOW_SANDBOX_PUBLIC_TOKEN) to require that token on every studio request",
			c.Addr, c.Addr)
	}
	return nil
}

// loopbackHost reports whether host (of a listen address) is loopback
// only: localhost, 127.0.0.0/8 or ::1. The empty host (":8080") listens on
// every interface.
func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// validateServe checks the settings serve needs.
func (c *serveConfig) validateServe() error {
	if err := c.validateCommon(); err != nil {
		return err
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return configErrorf("addr %q: want host:port, e.g. 127.0.0.1:8080", c.Addr)
	}
	if c.Workers < 1 {
		return configErrorf("workers must be at least 1")
	}
	if c.Lease < time.Second {
		return configErrorf("lease %v is too short (at least 1s)", c.Lease)
	}
	if c.Heartbeat < 10*time.Millisecond || c.Heartbeat > c.Lease {
		return configErrorf("heartbeat %v: want between 10ms and the lease (%v)", c.Heartbeat, c.Lease)
	}
	if c.MaxBody < 1024 {
		return configErrorf("max_body %d is too small (at least 1024 bytes)", c.MaxBody)
	}
	if c.Senders < 1 {
		return configErrorf("senders must be at least 1")
	}
	if c.SendTimeout < 10*time.Millisecond {
		return configErrorf("send_timeout %v is too short (at least 10ms)", c.SendTimeout)
	}
	if err := c.validateNotify(); err != nil {
		return err
	}
	if err := c.validateMessenger(); err != nil {
		return err
	}
	if c.PublicURL != "" {
		if err := checkHTTPURL("public_url", c.PublicURL); err != nil {
			return err
		}
	}
	if c.Sandbox() {
		return c.validateSandbox()
	}
	if c.SandboxToken != "" {
		return configErrorf("sandbox_public_token is set but serve is not in sandbox mode (credentials set: %s)", strings.Join(c.setCredentials(true), ", "))
	}
	return c.validateInstagram()
}

func (c *serveConfig) validateCommon() error {
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return configErrorf("log_format %q: want text or json", c.LogFormat)
	}
	if _, err := parseLogLevel(c.LogLevel); err != nil {
		return err
	}
	if c.StoreURL != "" && !isPostgresURL(c.StoreURL) {
		return configErrorf("store: want a postgres:// or postgresql:// URL")
	}
	if c.StoreURL == "" && c.DB == "" {
		return configErrorf("db: the bbolt file path is empty (or set --store postgres://…)")
	}
	return checkHTTPURL("graph_url", c.Instagram.GraphURL)
}

func (c *serveConfig) validateNotify() error {
	if c.NotifyURL == "" {
		return nil
	}
	if err := checkHTTPURL("notify.url", c.NotifyURL); err != nil {
		return err
	}
	if c.NotifySecret == "" {
		return configErrorf("notify.url is set but notify.secret (DMFLOW_NOTIFY_SECRET) is empty: outgoing webhooks must be signed")
	}
	return nil
}

// validateInstagram checks a production (non-sandbox) configuration: some
// credential setting is set, so the ones the webhook needs must be too.
func (c *serveConfig) validateInstagram() error {
	var missing []string
	if c.Instagram.ClientSecret == "" {
		missing = append(missing, "INSTAGRAM_CLIENT_SECRET (verifies webhook signatures)")
	}
	if c.Instagram.VerifyToken == "" {
		missing = append(missing, "INSTAGRAM_WEBHOOK_VERIFY_TOKEN (answers the webhook verification)")
	}
	if len(missing) > 0 {
		return configErrorf("Instagram credentials are partly configured (set: %s); also set %s, "+
			"or unset them all for sandbox mode (with a PostgreSQL sandbox: --sandbox)",
			strings.Join(c.setCredentials(true), ", "), strings.Join(missing, " and "))
	}
	return nil
}

// validateAuth checks the settings dmflow auth needs.
func (c *serveConfig) validateAuth() error {
	if err := c.validateCommon(); err != nil {
		return err
	}
	var missing []string
	for _, m := range []struct{ v, name string }{
		{c.Instagram.ClientID, "INSTAGRAM_CLIENT_ID"},
		{c.Instagram.ClientSecret, "INSTAGRAM_CLIENT_SECRET"},
		{c.Instagram.RedirectURI, "INSTAGRAM_REDIRECT_URI"},
	} {
		if m.v == "" {
			missing = append(missing, m.name)
		}
	}
	if len(missing) > 0 {
		return configErrorf("dmflow auth needs %s", strings.Join(missing, ", "))
	}
	return checkHTTPURL("redirect_uri", c.Instagram.RedirectURI)
}

func isPostgresURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

func checkHTTPURL(name, s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return configErrorf("%s %q: want an absolute http(s) URL", name, s)
	}
	return nil
}

// secretValues returns every configured secret value, for log redaction.
func (c *serveConfig) secretValues(stdio IO) []string {
	out := envSecrets(stdio)
	for _, s := range configSettings(c) {
		if p, ok := s.ptr.(*string); ok && s.Secret && *p != "" {
			out = append(out, *p)
		}
	}
	if u, err := url.Parse(c.StoreURL); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			out = append(out, pw)
		}
	}
	for _, v := range c.Secrets {
		if v != "" {
			out = append(out, v)
		}
	}
	return append(out, (&accounts.Table{Accounts: c.Accounts}).SecretValues()...)
}

// configure loads the configuration of command name, checks it with
// validate and makes its logger (secrets masked). On failure it prints the
// reason and returns ok=false; the exit code is then exitUsage.
func configure(name string, fs *flag.FlagSet, stdio IO, validate func(*serveConfig) error) (*serveConfig, *slog.Logger, bool) {
	cfg, err := loadConfig(fs, stdio.Env)
	if err == nil {
		err = validate(cfg)
	}
	var log *slog.Logger
	if err == nil {
		log, err = newLogger(stdio.Err, cfg.LogFormat, cfg.LogLevel, cfg.secretValues(stdio))
	}
	if err != nil {
		fmt.Fprintf(stdio.Err, "dmflow %s: %v\n", name, err)
		return nil, nil, false
	}
	return cfg, log, true
}

// envSecrets returns the values of every DMFLOW_SECRET_* environment
// variable, whether or not a flow uses it, so logs can never show them.
func envSecrets(stdio IO) []string {
	if stdio.Environ == nil {
		return nil
	}
	var out []string
	for _, kv := range stdio.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, envSecretPrefix) && v != "" {
			out = append(out, v)
		}
	}
	return out
}

// secret resolves an action secret ${NAME}: DMFLOW_SECRET_NAME in the
// environment, then the config file's secrets map.
func (c *serveConfig) secret(env func(string) (string, bool)) func(string) (string, bool) {
	return func(name string) (string, bool) {
		if v, ok := env(envSecretPrefix + name); ok {
			return v, true
		}
		v, ok := c.Secrets[name]
		return v, ok
	}
}

// errExitCode maps a command error to an exit code: configuration errors 2,
// everything else 1.
func errExitCode(err error) int {
	var ce *configError
	if errors.As(err, &ce) {
		return exitUsage
	}
	return exitFail
}

// parseNoArgs parses the flags of a command that takes no arguments;
// ok=false means return code.
func parseNoArgs(fs *flag.FlagSet, args []string, stdio IO) (code int, ok bool) {
	if code, ok := parseFlags(fs, args); !ok {
		return code, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stdio.Err, "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return exitUsage, false
	}
	return 0, true
}
