package messengertest

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/dmflow/dmflow/internal/metahook"
)

// Webhook builds Messenger webhook deliveries ({"object":"page",...}), one
// event per body, shaped like the reference samples, and signs them with
// Secret. Timestamps are Now (default time.Now) in milliseconds.
type Webhook struct {
	Secret string
	Now    func() time.Time
}

type obj = map[string]any

func (w Webhook) now() int64 {
	if w.Now == nil {
		return time.Now().UnixMilli()
	}
	return w.Now().UnixMilli()
}

func (w Webhook) item(page, field string, it obj) []byte {
	b, err := json.Marshal(obj{"object": "page", "entry": []obj{{"id": page, "time": w.now(), field: []obj{it}}}})
	if err != nil {
		panic(err)
	}
	return b
}

func (w Webhook) from(page, psid, key string, v any) []byte {
	return w.item(page, "messaging", obj{"sender": obj{"id": psid}, "recipient": obj{"id": page}, "timestamp": w.now(), key: v})
}

// Text is a text message from psid to page.
func (w Webhook) Text(page, psid, mid, text string) []byte {
	return w.from(page, psid, "message", obj{"mid": mid, "text": text})
}

// QuickReply is a quick-reply tap.
func (w Webhook) QuickReply(page, psid, mid, text, payload string) []byte {
	return w.from(page, psid, "message", obj{"mid": mid, "text": text, "quick_reply": obj{"payload": payload}})
}

// Attachment is a message with one attachment.
func (w Webhook) Attachment(page, psid, mid, typ, url string) []byte {
	return w.from(page, psid, "message", obj{"mid": mid, "attachments": []obj{{"type": typ, "payload": obj{"url": url}}}})
}

// Postback is a button, Get Started or menu tap; ref, when set, is the
// m.me referral that started the thread.
func (w Webhook) Postback(page, psid, mid, title, payload, ref string) []byte {
	pb := obj{"mid": mid, "title": title, "payload": payload}
	if ref != "" {
		pb["referral"] = obj{"ref": ref, "source": "SHORTLINK", "type": "OPEN_THREAD"}
	}
	return w.from(page, psid, "postback", pb)
}

// Reaction is a react on mid.
func (w Webhook) Reaction(page, psid, mid, reaction, emoji string) []byte {
	return w.from(page, psid, "reaction", obj{"mid": mid, "action": "react", "reaction": reaction, "emoji": emoji})
}

// Read is a read receipt up to now.
func (w Webhook) Read(page, psid string) []byte {
	return w.from(page, psid, "read", obj{"watermark": w.now()})
}

// Delivery is a delivery receipt for mids.
func (w Webhook) Delivery(page, psid string, mids ...string) []byte {
	return w.from(page, psid, "delivery", obj{"mids": mids, "watermark": w.now()})
}

// Referral is an m.me link opened in an existing thread.
func (w Webhook) Referral(page, psid, ref string) []byte {
	return w.from(page, psid, "referral", obj{"ref": ref, "source": "SHORTLINK", "type": "OPEN_THREAD"})
}

// Optin is a marketing-messages opt-in.
func (w Webhook) Optin(page, psid, payload string) []byte {
	return w.from(page, psid, "optin", obj{"type": "notification_messages", "payload": payload,
		"notification_messages_token": "tok", "notification_messages_status": "RESUME_NOTIFICATIONS"})
}

// Handover is a pass_thread_control to newOwner.
func (w Webhook) Handover(page, psid, prevOwner, newOwner string) []byte {
	return w.from(page, psid, "pass_thread_control", obj{"previous_owner_app_id": prevOwner, "new_owner_app_id": newOwner, "metadata": "m"})
}

// Standby is a text message delivered on the standby channel.
func (w Webhook) Standby(page, psid, mid, text string) []byte {
	return w.item(page, "standby", obj{"sender": obj{"id": psid}, "recipient": obj{"id": page}, "timestamp": w.now(),
		"message": obj{"mid": mid, "text": text}})
}

// Echo is the message_echoes delivery of a message the Page sent to psid.
func (w Webhook) Echo(page, psid, mid, text, appID string) []byte {
	return w.item(page, "messaging", obj{"sender": obj{"id": page}, "recipient": obj{"id": psid}, "timestamp": w.now(),
		"message": obj{"mid": mid, "text": text, "is_echo": true, "app_id": appID}})
}

// Merge combines bodies into one delivery.
func Merge(bodies ...[]byte) []byte {
	var entries []json.RawMessage
	for _, b := range bodies {
		var env struct {
			Entry []json.RawMessage `json:"entry"`
		}
		if json.Unmarshal(b, &env) == nil {
			entries = append(entries, env.Entry...)
		}
	}
	b, _ := json.Marshal(obj{"object": "page", "entry": entries})
	return b
}

// Sign returns the X-Hub-Signature-256 value of body.
func (w Webhook) Sign(body []byte) string { return metahook.Sign(body, w.Secret) }

// Post delivers body to target signed, and returns the status.
func (w Webhook) Post(ctx context.Context, client *http.Client, target string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(metahook.HeaderSignature256, w.Sign(body))
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
