package instagram

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// MessengerProfileFields are the messenger_profile fields SetIceBreakers
// and SetPersistentMenu write.
var MessengerProfileFields = []string{"ice_breakers", "persistent_menu"}

// MessengerProfile returns the account's messenger_profile fields (nil:
// MessengerProfileFields) exactly as the Graph API answers
// GET /{account}/messenger_profile?fields=…&platform=instagram, so a setup
// tool can show what the platform stored.
func (c *Client) MessengerProfile(ctx context.Context, account string, fields []string) (json.RawMessage, error) {
	if len(fields) == 0 {
		fields = MessengerProfileFields
	}
	q := url.Values{"fields": {strings.Join(fields, ",")}, "platform": {"instagram"}}
	var out json.RawMessage
	if err := c.get(ctx, account, c.nodeURL(account, "messenger_profile")+"?"+q.Encode(), &out); err != nil {
		return nil, fmt.Errorf("instagram: messenger profile %s: %w", account, err)
	}
	return out, nil
}
