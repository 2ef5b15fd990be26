package cli

import (
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/adapters/instagram"
	"gopkg.in/yaml.v3"
)

// messengerProfile is what `dmflow instagram setup` writes to the account's
// messenger_profile: ice breakers and the persistent menu, per locale. It
// comes from the config file's instagram.ice_breakers and
// instagram.persistent_menu, or from the file named by messenger_profile.
type messengerProfile struct {
	IceBreakers    []instagram.Localized[instagram.IceBreaker]
	PersistentMenu []instagram.Localized[dmflow.Button]
	// WelcomeFlows are welcome message flows for Click-to-Instagram-Direct
	// ads; one without id is created on every setup run.
	WelcomeFlows []instagram.WelcomeFlow
	at           map[string]string // field → "file:line:col" of its declaration
}

// Messenger-profile fields in YAML.
const (
	fieldIceBreakers    = "ice_breakers"
	fieldPersistentMenu = "persistent_menu"
	fieldWelcomeFlows   = "welcome_message_flows"
)

// localePattern is a locale other than "default": ll_CC, e.g. en_US.
var localePattern = regexp.MustCompile(`^[a-z]{2}_[A-Z]{2}$`)

// decodeWelcomeFlows decodes a list of welcome message flows:
// {id?, name, messages: [{text, quick_replies: [{title, payload}]}]}.
func (p *messengerProfile) decodeWelcomeFlows(path, name string, k, n *yaml.Node) error {
	here := fmt.Sprintf("%s:%d:%d", path, k.Line, k.Column)
	if prev, ok := p.at[fieldWelcomeFlows]; ok {
		return configErrorf("%s: %s: already declared at %s (declare it in one place)", here, name, prev)
	}
	if p.at == nil {
		p.at = map[string]string{}
	}
	p.at[fieldWelcomeFlows] = here
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		return posErr(path, n, name, "expected a non-empty list of flows {id, name, messages}")
	}
	for i, item := range n.Content {
		var f instagram.WelcomeFlow
		dec := struct {
			ID       string                     `yaml:"id"`
			Name     string                     `yaml:"name"`
			Messages []instagram.WelcomeMessage `yaml:"messages"`
		}{}
		if err := item.Decode(&dec); err != nil {
			return posErr(path, item, fmt.Sprintf("%s[%d]", name, i), "%v", err)
		}
		f.ID, f.Name, f.Messages = dec.ID, dec.Name, dec.Messages
		if err := f.Validate(); err != nil {
			return posErr(path, item, fmt.Sprintf("%s[%d]", name, i), "%v", err)
		}
		p.WelcomeFlows = append(p.WelcomeFlows, f)
	}
	return nil
}

// posErr is a configuration error at n.
func posErr(path string, n *yaml.Node, what, format string, args ...any) error {
	return configErrorf("%s:%d:%d: %s: %s", path, n.Line, n.Column, what, fmt.Sprintf(format, args...))
}

// loadMessengerProfileFile reads a file of top-level ice_breakers and
// persistent_menu sections.
func (p *messengerProfile) loadFile(path string) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return configErrorf("messenger_profile: %v", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return configErrorf("%s: %v", path, err)
	}
	if len(doc.Content) == 0 {
		return configErrorf("%s: empty: want ice_breakers and/or persistent_menu", path)
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return posErr(path, root, "file", "expected a mapping with ice_breakers and/or persistent_menu")
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Value == fieldWelcomeFlows {
			if err := p.decodeWelcomeFlows(path, k.Value, k, v); err != nil {
				return err
			}
			continue
		}
		if k.Value != fieldIceBreakers && k.Value != fieldPersistentMenu {
			return posErr(path, k, k.Value, "unknown section (known: %s, %s, %s)", fieldIceBreakers, fieldPersistentMenu, fieldWelcomeFlows)
		}
		if err := p.decodeField(path, k.Value, k.Value, k, v); err != nil {
			return err
		}
	}
	return nil
}

// decodeField decodes one section, a mapping of locale → items; name is
// how errors call it ("instagram.ice_breakers" in the config file).
func (p *messengerProfile) decodeField(path, field, name string, k, n *yaml.Node) error {
	here := fmt.Sprintf("%s:%d:%d", path, k.Line, k.Column)
	if prev, ok := p.at[field]; ok {
		return configErrorf("%s: %s: already declared at %s (declare it in one place)", here, name, prev)
	}
	if p.at == nil {
		p.at = map[string]string{}
	}
	p.at[field] = here
	if n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		return posErr(path, n, name, "expected a mapping of locale (default, en_US, …) to a list of items")
	}
	hasDefault := false
	for i := 0; i+1 < len(n.Content); i += 2 {
		lk, lv := n.Content[i], n.Content[i+1]
		if lk.Value != "default" && !localePattern.MatchString(lk.Value) {
			return posErr(path, lk, name, "locale %q: want default or ll_CC (e.g. en_US)", lk.Value)
		}
		hasDefault = hasDefault || lk.Value == "default"
		if err := p.decodeLocale(path, field, name+"."+lk.Value, lk.Value, lv); err != nil {
			return err
		}
	}
	if !hasDefault {
		return posErr(path, n, name, "a default locale is required")
	}
	return nil
}

func (p *messengerProfile) decodeLocale(path, field, name, locale string, n *yaml.Node) error {
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		return posErr(path, n, name, "expected a non-empty list")
	}
	if field == fieldIceBreakers {
		if len(n.Content) > dmflow.MaxIceBreakers {
			return posErr(path, n.Content[dmflow.MaxIceBreakers], name, "%d ice breakers, at most %d per locale", len(n.Content), dmflow.MaxIceBreakers)
		}
		l := instagram.Localized[instagram.IceBreaker]{Locale: locale}
		for i, item := range n.Content {
			m, err := itemFields(path, fmt.Sprintf("%s[%d]", name, i), item, "question", "payload")
			if err != nil {
				return err
			}
			l.Items = append(l.Items, instagram.IceBreaker{Question: m["question"], Payload: m["payload"]})
		}
		p.IceBreakers = append(p.IceBreakers, l)
		return nil
	}
	l := instagram.Localized[dmflow.Button]{Locale: locale}
	for i, item := range n.Content {
		b, err := menuItem(path, fmt.Sprintf("%s[%d]", name, i), item)
		if err != nil {
			return err
		}
		l.Items = append(l.Items, b)
	}
	p.PersistentMenu = append(p.PersistentMenu, l)
	return nil
}

// menuItem decodes a postback (title, payload) or web_url (title, url) item.
func menuItem(path, name string, n *yaml.Node) (dmflow.Button, error) {
	m, err := itemFields(path, name, n, "type", "title", "payload?", "url?")
	if err != nil {
		return dmflow.Button{}, err
	}
	b := dmflow.Button{Type: m["type"], Title: m["title"], Payload: m["payload"], URL: m["url"]}
	switch {
	case b.Type == "postback" && b.Payload != "" && b.URL == "":
	case b.Type == "web_url" && b.URL != "" && b.Payload == "":
		if u, err := url.Parse(b.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return b, posErr(path, n, name, "url %q: want an absolute http(s) URL", b.URL)
		}
	default:
		return b, posErr(path, n, name, "want type postback with a payload, or type web_url with a url")
	}
	return b, nil
}

// itemFields reads a mapping of non-empty strings with exactly the keys
// named (a trailing ? marks an optional key).
func itemFields(path, name string, n *yaml.Node, keys ...string) (map[string]string, error) {
	if n.Kind != yaml.MappingNode {
		return nil, posErr(path, n, name, "expected a mapping with %s", strings.Join(keys, ", "))
	}
	m := map[string]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !knownKey(keys, k.Value) {
			return nil, posErr(path, k, name, "unknown key %q (known: %s)", k.Value, strings.ReplaceAll(strings.Join(keys, ", "), "?", ""))
		}
		if v.Kind != yaml.ScalarNode || strings.TrimSpace(v.Value) == "" {
			return nil, posErr(path, v, name+"."+k.Value, "expected a non-empty string")
		}
		m[k.Value] = v.Value
	}
	for _, k := range keys {
		if _, ok := m[k]; !ok && !strings.HasSuffix(k, "?") {
			return nil, posErr(path, n, name, "missing %s", k)
		}
	}
	return m, nil
}

func knownKey(keys []string, k string) bool {
	for _, want := range keys {
		if strings.TrimSuffix(want, "?") == k {
			return true
		}
	}
	return false
}
