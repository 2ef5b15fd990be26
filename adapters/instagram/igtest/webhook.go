package igtest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"
)

// Webhook builds webhook bodies shaped like real Instagram deliveries and
// signs them with Secret. Each builder returns a complete body
// ({"object":"instagram","entry":[...]}) holding one event; Merge combines
// bodies into one batch.
//
// Timestamps come from Now (default time.Now), in milliseconds, as Meta sends
// them.
type Webhook struct {
	Secret string
	Now    func() time.Time
}

func (w Webhook) now() int64 {
	if w.Now == nil {
		return time.Now().UnixMilli()
	}
	return w.Now().UnixMilli()
}

// obj is a JSON object under construction.
type obj = map[string]any

// messaging wraps one messaging item from user to account.
func (w Webhook) messaging(account, user string, key string, value any) []byte {
	return w.item(account, "messaging", obj{
		"sender": obj{"id": user}, "recipient": obj{"id": account},
		"timestamp": w.now(), key: value,
	})
}

func (w Webhook) item(account, field string, item obj) []byte {
	return encode(obj{"object": "instagram", "entry": []obj{{
		"id": account, "time": w.now(), field: []obj{item},
	}}})
}

func encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("igtest: encode webhook: " + err.Error())
	}
	return b
}

// Text is a plain text message from user to account.
func (w Webhook) Text(account, user, mid, text string) []byte {
	return w.messaging(account, user, "message", obj{"mid": mid, "text": text})
}

// QuickReply is a quick-reply tap: text is the chip title.
func (w Webhook) QuickReply(account, user, mid, text, payload string) []byte {
	return w.messaging(account, user, "message", obj{
		"mid": mid, "text": text, "quick_reply": obj{"payload": payload},
	})
}

// Attachment is a message with one attachment of the given type (image,
// video, audio, file, share, story_mention, reel, ig_reel).
func (w Webhook) Attachment(account, user, mid, typ, url string) []byte {
	payload := obj{"url": url}
	if typ == "ig_reel" || typ == "reel" {
		payload["title"], payload["reel_video_id"] = "reel", "17900000000000001"
	}
	return w.messaging(account, user, "message", obj{
		"mid": mid, "attachments": []obj{{"type": typ, "payload": payload}},
	})
}

// InlineReply is a text message answering the earlier message replyTo.
func (w Webhook) InlineReply(account, user, mid, replyTo, text string) []byte {
	return w.messaging(account, user, "message", obj{
		"mid": mid, "text": text, "reply_to": obj{"mid": replyTo},
	})
}

// StoryReply is a text reply to one of the account's stories.
func (w Webhook) StoryReply(account, user, mid, storyID, storyURL, text string) []byte {
	return w.messaging(account, user, "message", obj{
		"mid": mid, "text": text, "reply_to": obj{"story": obj{"id": storyID, "url": storyURL}},
	})
}

// AdReferral is the first message after a click-to-DM ad.
func (w Webhook) AdReferral(account, user, mid, text, adID, ref string) []byte {
	return w.messaging(account, user, "message", obj{
		"mid": mid, "text": text, "referral": obj{
			"ref": ref, "ad_id": adID, "source": "ADS", "type": "OPEN_THREAD",
			"ads_context_data": obj{"ad_title": "Spring sale", "photo_url": "https://example.com/ad.jpg"},
		},
	})
}

// Postback is an ice-breaker, persistent-menu or button tap.
func (w Webhook) Postback(account, user, mid, title, payload string) []byte {
	return w.messaging(account, user, "postback", obj{"mid": mid, "title": title, "payload": payload})
}

// Reaction is a react (reaction set) or unreact (reaction "") on message mid.
func (w Webhook) Reaction(account, user, mid, reaction string) []byte {
	r := obj{"mid": mid, "action": "unreact"}
	if reaction != "" {
		r["action"], r["reaction"], r["emoji"] = "react", reaction, "\u2764\ufe0f"
	}
	return w.messaging(account, user, "reaction", r)
}

// Read is a seen receipt up to message mid.
func (w Webhook) Read(account, user, mid string) []byte {
	return w.messaging(account, user, "read", obj{"mid": mid})
}

// Referral is an ig.me link with ref opened in an existing thread.
func (w Webhook) Referral(account, user, ref string) []byte {
	return w.messaging(account, user, "referral", obj{"ref": ref, "source": "SHORTLINKS", "type": "OPEN_THREAD"})
}

// Edit is an edit of message mid to text (numEdit is the edit count).
func (w Webhook) Edit(account, user, mid, text string, numEdit int) []byte {
	return w.messaging(account, user, "message_edit", obj{"mid": mid, "text": text, "num_edit": numEdit})
}

// Delete is the user unsending message mid.
func (w Webhook) Delete(account, user, mid string) []byte {
	return w.messaging(account, user, "message", obj{"mid": mid, "is_deleted": true})
}

// Unsupported is a message Instagram cannot represent (some GIFs, stickers).
func (w Webhook) Unsupported(account, user, mid string) []byte {
	return w.messaging(account, user, "message", obj{"mid": mid, "is_unsupported": true})
}

// Optin is a messaging opt-in with the given payload.
func (w Webhook) Optin(account, user, payload string) []byte {
	return w.messaging(account, user, "optin", obj{"type": "notification_messages", "payload": payload})
}

// Handover is a thread-control change; action is "pass", "take" or "request".
func (w Webhook) Handover(account, user, action, prevOwner, newOwner string) []byte {
	return w.messaging(account, user, action+"_thread_control", obj{
		"previous_owner_app_id": prevOwner, "new_owner_app_id": newOwner, "metadata": "handover",
	})
}

// Standby is a text message delivered on the standby channel.
func (w Webhook) Standby(account, user, mid, text string) []byte {
	return w.item(account, "standby", obj{
		"sender": obj{"id": user}, "recipient": obj{"id": account},
		"timestamp": w.now(), "message": obj{"mid": mid, "text": text},
	})
}

// Echo is the copy of a message the account sent to user; appID names the
// sending app ("" for a person using the Instagram app).
func (w Webhook) Echo(account, user, mid, text, appID string) []byte {
	m := obj{"mid": mid, "text": text, "is_echo": true}
	if appID != "" {
		m["app_id"] = appID
	}
	return w.item(account, "messaging", obj{
		"sender": obj{"id": account}, "recipient": obj{"id": user},
		"timestamp": w.now(), "message": m,
	})
}

// Comment is a comment by user (username) on the account's media.
func (w Webhook) Comment(account, user, username, commentID, mediaID, text string) []byte {
	return w.change(account, "comments", user, username, commentID, mediaID, text)
}

// LiveComment is a comment during a live broadcast.
func (w Webhook) LiveComment(account, user, username, commentID, mediaID, text string) []byte {
	return w.change(account, "live_comments", user, username, commentID, mediaID, text)
}

func (w Webhook) change(account, field, user, username, commentID, mediaID, text string) []byte {
	product := "FEED"
	if field == "live_comments" {
		product = "LIVE"
	}
	return encode(obj{"object": "instagram", "entry": []obj{{
		"id": account, "time": w.now() / 1000,
		"changes": []obj{{"field": field, "value": obj{
			"id": commentID, "text": text,
			"from":  obj{"id": user, "username": username},
			"media": obj{"id": mediaID, "media_product_type": product},
		}}},
	}}})
}

// Merge combines bodies built by this package into one batch, keeping every
// entry in order (Meta batches up to 1000 updates this way).
func Merge(bodies ...[]byte) []byte {
	var entries []json.RawMessage
	for _, b := range bodies {
		var env struct {
			Entry []json.RawMessage `json:"entry"`
		}
		if err := json.Unmarshal(b, &env); err != nil {
			panic("igtest: merge: " + err.Error())
		}
		entries = append(entries, env.Entry...)
	}
	return encode(obj{"object": "instagram", "entry": entries})
}

// Sign returns the X-Hub-Signature-256 value for body: "sha256=<hex>".
func (w Webhook) Sign(body []byte) string {
	m := hmac.New(sha256.New, []byte(w.Secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// SignSHA1 returns the legacy X-Hub-Signature value: "sha1=<hex>".
func (w Webhook) SignSHA1(body []byte) string {
	m := hmac.New(sha1.New, []byte(w.Secret))
	m.Write(body)
	return "sha1=" + hex.EncodeToString(m.Sum(nil))
}

// Request builds a signed webhook POST of body to target.
func (w Webhook) Request(ctx context.Context, target string, body []byte) *http.Request {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		panic("igtest: webhook request: " + err.Error())
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hub-Signature-256", w.Sign(body))
	req.Header.Set("X-Hub-Signature", w.SignSHA1(body))
	return req
}

// Post sends a signed webhook POST of body to target with client (nil:
// http.DefaultClient) and returns the status code.
func (w Webhook) Post(ctx context.Context, client *http.Client, target string, body []byte) (int, error) {
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(w.Request(ctx, target, body))
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
