package accounts

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// DecodeYAML decodes the config file's accounts: section (path names the
// file, for errors "path:line:col: ..."):
//
//	accounts:
//	  "17841400000000001":
//	    flows: flows/shop            # this account's bundle (default: the deployment's)
//	    messenger_profile: shop-profile.yaml
//	    handoff_release: 2h
//	    notify: {url: https://shop.example/hooks/dmflow, secret: "…"}
//	    secrets: {ORDERS_TOKEN: "…"}
//	    access_token: "IGAA…"         # else dmflow auth's stored token
//
// Keys are account ids (digits) or "default" (settings of accounts without
// an entry of their own).
func DecodeYAML(path string, n *yaml.Node) (map[string]Settings, error) {
	at := func(n *yaml.Node) string { return fmt.Sprintf("%s:%d:%d", path, n.Line, n.Column) }
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: accounts: expected a mapping of account id → settings", at(n))
	}
	out := map[string]Settings{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		id := k.Value
		if id != Default && !IsAccountID(id) {
			return nil, fmt.Errorf("%s: accounts: %q is not an account id (digits; quote it in YAML) or %q", at(k), id, Default)
		}
		if _, dup := out[id]; dup {
			return nil, fmt.Errorf("%s: accounts: %s is listed twice", at(k), id)
		}
		s, err := decodeSettings(path, "accounts."+id, v)
		if err != nil {
			return nil, err
		}
		out[id] = s
	}
	return out, nil
}

func decodeSettings(path, name string, n *yaml.Node) (Settings, error) {
	at := func(n *yaml.Node) string { return fmt.Sprintf("%s:%d:%d", path, n.Line, n.Column) }
	var s Settings
	if n.Kind != yaml.MappingNode {
		return s, fmt.Errorf("%s: %s: expected a mapping (access_token, flows, handoff_release, messenger_profile, notify, secrets)", at(n), name)
	}
	scalar := func(k, v *yaml.Node) (string, error) {
		if v.Kind != yaml.ScalarNode {
			return "", fmt.Errorf("%s: %s.%s: expected a single value", at(k), name, k.Value)
		}
		return strings.TrimSpace(v.Value), nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		var err error
		switch k.Value {
		case "flows":
			s.Flows, err = scalar(k, v)
		case "messenger_profile":
			s.MessengerProfile, err = scalar(k, v)
		case "access_token":
			s.AccessToken, err = scalar(k, v)
		case "handoff_release":
			var raw string
			if raw, err = scalar(k, v); err == nil {
				d, perr := time.ParseDuration(raw)
				if perr != nil || d < 0 {
					return s, fmt.Errorf("%s: %s.handoff_release: invalid duration %q (want e.g. 30m, 24h; 0: never)", at(v), name, raw)
				}
				s.HandoffRelease = &d
			}
		case "notify":
			err = decodeNotify(path, name, k, v, &s)
		case "secrets":
			s.Secrets, err = decodeSecrets(path, name, v)
		default:
			err = fmt.Errorf("%s: %s: unknown setting %q (known: access_token, flows, handoff_release, messenger_profile, notify, secrets)", at(k), name, k.Value)
		}
		if err != nil {
			return s, err
		}
	}
	return s, nil
}

func decodeNotify(path, name string, k, n *yaml.Node, s *Settings) error {
	at := func(n *yaml.Node) string { return fmt.Sprintf("%s:%d:%d", path, n.Line, n.Column) }
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("%s: %s.notify: expected a mapping with url and secret", at(k), name)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kk, v := n.Content[i], n.Content[i+1]
		if v.Kind != yaml.ScalarNode {
			return fmt.Errorf("%s: %s.notify.%s: expected a single value", at(kk), name, kk.Value)
		}
		switch kk.Value {
		case "url":
			s.NotifyURL = strings.TrimSpace(v.Value)
		case "secret":
			s.NotifySecret = v.Value
		default:
			return fmt.Errorf("%s: %s.notify: unknown setting %q (known: url, secret)", at(kk), name, kk.Value)
		}
	}
	if s.NotifyURL == "" || s.NotifySecret == "" {
		return fmt.Errorf("%s: %s.notify: want both url and secret (outgoing webhooks are signed)", at(k), name)
	}
	u, err := url.Parse(s.NotifyURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s: %s.notify.url: want an absolute http(s) URL", at(k), name)
	}
	return nil
}

func decodeSecrets(path, name string, n *yaml.Node) (map[string]string, error) {
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d:%d: %s.secrets: expected a mapping NAME: value", path, n.Line, n.Column, name)
	}
	out := map[string]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if v.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("%s:%d:%d: %s.secrets.%s: expected a string", path, k.Line, k.Column, name, k.Value)
		}
		out[k.Value] = v.Value
	}
	return out, nil
}

// SecretValues returns every secret value of the table, for log redaction.
func (t *Table) SecretValues() []string {
	var out []string
	add := func(s Settings) {
		for _, v := range s.Secrets {
			if v != "" {
				out = append(out, v)
			}
		}
		if s.NotifySecret != "" {
			out = append(out, s.NotifySecret)
		}
		if s.AccessToken != "" {
			out = append(out, s.AccessToken)
		}
	}
	add(t.Default)
	for _, s := range t.Accounts {
		add(s)
	}
	return out
}
