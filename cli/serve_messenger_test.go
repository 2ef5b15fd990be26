package cli

import (
	"strings"
	"testing"
)

func TestValidateMessenger(t *testing.T) {
	prod := func() *serveConfig {
		c := &serveConfig{}
		c.Instagram.ClientSecret, c.Instagram.VerifyToken, c.Instagram.AccessToken = "s", "v", "t"
		c.Messenger.GraphURL = "https://graph.facebook.com"
		return c
	}
	c := prod()
	if err := c.validateMessenger(); err != nil {
		t.Errorf("no messenger settings: %v", err)
	}
	c.Messenger.PageID = "105"
	if err := c.validateMessenger(); err == nil || !strings.Contains(err.Error(), "MESSENGER_PAGE_ACCESS_TOKEN") {
		t.Errorf("partial messenger settings: %v", err)
	}
	c.Messenger.PageToken, c.Messenger.AppSecret, c.Messenger.VerifyToken = "tok", "sec", "vt"
	if err := c.validateMessenger(); err != nil {
		t.Errorf("complete messenger settings: %v", err)
	}
	c.Instagram.AccountID = "105"
	if err := c.validateMessenger(); err == nil {
		t.Errorf("page id equal to the Instagram account id accepted")
	}
	s := &serveConfig{}
	s.Messenger = c.Messenger
	if !s.Sandbox() {
		t.Skip("a config without Instagram credentials is not sandbox mode here")
	}
	if err := s.validateMessenger(); err == nil || !strings.Contains(err.Error(), "for production mode") {
		t.Errorf("messenger in sandbox mode: %v", err)
	}
}
