package cli

import (
	"strings"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/adapters/messenger"
	srv "github.com/dmflow/dmflow/server"
)

// msgrConfig holds the Messenger channel settings: one Facebook Page.
type msgrConfig struct {
	PageID      string
	PageToken   string
	AppSecret   string
	VerifyToken string
	GraphURL    string
	// ProfileFile is the Page's Messenger profile (messenger_setup.go).
	ProfileFile string
}

func (m msgrConfig) enabled() bool {
	return m.PageID != "" || m.PageToken != "" || m.AppSecret != "" || m.VerifyToken != ""
}

// validateMessenger: Messenger is all or nothing, and served only in
// production mode (the sandbox simulates a Page of its own).
func (c *serveConfig) validateMessenger() error {
	m := c.Messenger
	if !m.enabled() {
		return nil
	}
	var missing []string
	for _, s := range []struct{ v, name string }{{m.PageID, "MESSENGER_PAGE_ID"}, {m.PageToken, "MESSENGER_PAGE_ACCESS_TOKEN"},
		{m.AppSecret, "MESSENGER_APP_SECRET"}, {m.VerifyToken, "MESSENGER_WEBHOOK_VERIFY_TOKEN"}} {
		if s.v == "" {
			missing = append(missing, s.name)
		}
	}
	if len(missing) > 0 {
		return configErrorf("Messenger is partly configured; also set %s, or unset the messenger settings", strings.Join(missing, ", "))
	}
	if c.Sandbox() {
		return configErrorf("messenger settings are for production mode (the sandbox simulates a Messenger Page of its own): set the Instagram credentials too, or unset the messenger settings")
	}
	if m.PageID == c.Instagram.AccountID {
		return configErrorf("messenger.page_id %s is also the Instagram account id: each channel's account must be its own id", m.PageID)
	}
	if err := checkHTTPURL("messenger.graph_url", m.GraphURL); err != nil {
		return err
	}
	return nil
}

// withMessenger adds the Messenger channel to cfg when configured: the
// webhook beside Instagram's, the Page's replies routed to the Messenger
// Send API (paced per Page, across replicas on a shared store), and no
// Instagram profile lookups for the Page's users.
func (s *server) withMessenger(cfg *srv.Config) {
	m := s.cfg.Messenger
	if !m.enabled() || s.sandbox != nil {
		return
	}
	pacer, _ := s.store.(dmflow.Pacer) // a shared store paces the Page across replicas; nil: this process
	client := messenger.NewClient(messenger.ClientConfig{BaseURL: m.GraphURL, Tokens: messenger.PageTokens{m.PageID: m.PageToken},
		Pacer: pacer})
	srv.AddMessengerPage(&cfg.Bot, m.PageID, client)
	cfg.Messenger = &messenger.WebhookConfig{
		Adapter: messenger.Adapter{VerifyToken: m.VerifyToken, AppSecrets: []string{m.AppSecret}},
		MaxBody: int64(s.cfg.MaxBody), Logger: s.log,
	}
	s.log.Info("messenger channel enabled", "page", m.PageID)
}
