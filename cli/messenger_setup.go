package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/dmflow/dmflow/adapters/messenger"
	"github.com/dmflow/dmflow/internal/english"
	"gopkg.in/yaml.v3"
)

func messengerCmd() *Command {
	return &Command{
		Name:    "messenger",
		Summary: "set up the Facebook Page's Messenger profile: get started, greeting, ice breakers, menu",
		Usage: `Usage: dmflow messenger setup [flags]

Applies the Page's Messenger profile from the file named by
--messenger-page-profile (messenger.profile in the config file): the Get
Started button's payload, the welcome-screen greeting, ice breakers and the
persistent menu, per locale. It is checked against the Messenger Profile
API's rules first (errors as file:line:col), sent in one request (the API
allows 10 calls per 10 minutes per Page), then prints what GET
messenger_profile answers, to verify. Without a profile file it only
prints the Page's current profile.

The Page is MESSENGER_PAGE_ID with MESSENGER_PAGE_ACCESS_TOKEN (the same
settings 'dmflow serve' uses for the Messenger channel).`,
		Flags: func(fs *flag.FlagSet) {
			declareFlags(fs, "config", "messenger-page-id", "messenger-page-token", "messenger-graph-url",
				"messenger-page-profile", "log-format", "log-level")
		},
		Run: runMessenger,
	}
}

func runMessenger(ctx context.Context, fs *flag.FlagSet, args []string, stdio IO) int {
	if code, ok := parseSetup("messenger", fs, args, stdio); !ok {
		return code
	}
	cfg, _, ok := configure("messenger setup", fs, stdio, (*serveConfig).validateMessengerSetup)
	if !ok {
		return exitUsage
	}
	m := cfg.Messenger
	var p *messenger.Profile
	if m.ProfileFile != "" {
		prof, err := loadPageProfile(m.ProfileFile)
		if err != nil {
			fmt.Fprintf(stdio.Err, "dmflow messenger setup: %v\n", err)
			return exitUsage
		}
		p = &prof
	}
	ctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	c := messenger.NewClient(messenger.ClientConfig{BaseURL: m.GraphURL, Tokens: messenger.PageTokens{m.PageID: m.PageToken}})
	if err := messengerSetup(ctx, c, m.PageID, p, stdio.Out); err != nil {
		fmt.Fprintf(stdio.Err, "dmflow messenger setup: %v\n", redactURL(err.Error(), cfg))
		return errExitCode(err)
	}
	return exitOK
}

// validateMessengerSetup: the Page and its token are required.
func (c *serveConfig) validateMessengerSetup() error {
	if c.Messenger.PageID == "" || c.Messenger.PageToken == "" {
		return configErrorf("set MESSENGER_PAGE_ID and MESSENGER_PAGE_ACCESS_TOKEN (messenger.page_id and messenger.page_token)")
	}
	if _, err := parseLogLevel(c.LogLevel); err != nil {
		return err
	}
	return checkHTTPURL("messenger.graph_url", c.Messenger.GraphURL)
}

// messengerSetup sets p on page (when there is one) and prints what was
// set and what GET messenger_profile answers.
func messengerSetup(ctx context.Context, c *messenger.Client, page string, p *messenger.Profile, out io.Writer) error {
	if p != nil {
		if err := c.SetProfile(ctx, page, *p); err != nil {
			return err
		}
		fmt.Fprintf(out, "page %s: %s\n", page, profileSummary(*p))
	}
	data, err := c.GetProfile(ctx, page)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "GET messenger_profile: %s\n", strings.TrimSpace(string(data)))
	return nil
}

func profileSummary(p messenger.Profile) string {
	part := func(what string, n int) string {
		if n == 0 {
			return what + " not configured (left as it is)"
		}
		return fmt.Sprintf("%s set (%s)", what, english.Plural(n, "locale"))
	}
	start := "get started not configured (left as it is)"
	if p.GetStarted != "" {
		start = fmt.Sprintf("get started set (payload %s)", p.GetStarted)
	}
	return strings.Join([]string{start, part("greeting", len(p.Greeting)), part("ice breakers", len(p.IceBreakers)),
		part("persistent menu", len(p.PersistentMenu))}, ", ")
}

// Sections of a Messenger Page profile file.
var pageProfileKeys = []string{"get_started", "greeting", fieldIceBreakers, fieldPersistentMenu}

// loadPageProfile reads a Messenger Page profile file:
//
//	get_started: START                       # the Get Started postback's payload
//	greeting: {default: "Hi {{user_first_name}}!", es_ES: "¡Hola!"}
//	ice_breakers: {default: [{question, payload}, ...]}
//	persistent_menu: {default: [{type: postback, title, payload} | {type: web_url, title, url}, ...]}
//
// ice_breakers and persistent_menu are written as for Instagram (`dmflow
// instagram setup`); the profile is then checked against the Messenger
// Profile API's rules (messenger.Profile.Validate).
func loadPageProfile(path string) (messenger.Profile, error) {
	var p messenger.Profile
	src, err := os.ReadFile(path)
	if err != nil {
		return p, configErrorf("messenger.profile: %v", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return p, configErrorf("%s: %v", path, err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return p, configErrorf("%s: want a mapping with %s", path, strings.Join(pageProfileKeys, ", "))
	}
	var lists messengerProfile // ice_breakers and persistent_menu, decoded as for Instagram
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "get_started":
			if v.Kind != yaml.ScalarNode || strings.TrimSpace(v.Value) == "" {
				return p, posErr(path, v, "get_started", "expected the payload, a non-empty string")
			}
			p.GetStarted = v.Value
		case "greeting":
			g, err := decodeGreeting(path, v)
			if err != nil {
				return p, err
			}
			p.Greeting = g
		case fieldIceBreakers, fieldPersistentMenu:
			if err := lists.decodeField(path, k.Value, k.Value, k, v); err != nil {
				return p, err
			}
		default:
			return p, posErr(path, k, k.Value, "unknown section (known: %s)", strings.Join(pageProfileKeys, ", "))
		}
	}
	for _, l := range lists.IceBreakers {
		ib := messenger.IceBreakers{Locale: l.Locale}
		for _, q := range l.Items {
			ib.Questions = append(ib.Questions, messenger.IceBreaker{Question: q.Question, Payload: q.Payload})
		}
		p.IceBreakers = append(p.IceBreakers, ib)
	}
	for _, l := range lists.PersistentMenu {
		p.PersistentMenu = append(p.PersistentMenu, messenger.Menu{Locale: l.Locale, Buttons: l.Items})
	}
	if err := p.Validate(); err != nil {
		return p, configErrorf("%s: %v", path, err)
	}
	return p, nil
}

// decodeGreeting decodes a mapping of locale to greeting text.
func decodeGreeting(path string, n *yaml.Node) (map[string]string, error) {
	if n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		return nil, posErr(path, n, "greeting", "expected a mapping of locale (default, en_US, …) to text")
	}
	g := map[string]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		lk, lv := n.Content[i], n.Content[i+1]
		if lk.Value != messenger.DefaultLocale && !localePattern.MatchString(lk.Value) {
			return nil, posErr(path, lk, "greeting", "locale %q: want default or ll_CC (e.g. en_US)", lk.Value)
		}
		if lv.Kind != yaml.ScalarNode || lv.Value == "" {
			return nil, posErr(path, lv, "greeting."+lk.Value, "expected a non-empty text")
		}
		if n := utf8.RuneCountInString(lv.Value); n > messenger.MaxGreetingChars {
			return nil, posErr(path, lv, "greeting."+lk.Value, "%d characters, at most %d", n, messenger.MaxGreetingChars)
		}
		g[lk.Value] = lv.Value
	}
	if _, ok := g[messenger.DefaultLocale]; !ok {
		return nil, posErr(path, n, "greeting", "a default locale is required")
	}
	return g, nil
}
