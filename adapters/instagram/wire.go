package instagram

import (
	"encoding/json"
	"time"

	"github.com/dmflow/dmflow/internal/metahook"
)

// flexString and flexInt decode ids and timestamps whichever JSON type
// the platform chose (shared with the other Meta adapters).
type (
	flexString = metahook.FlexString
	flexInt    = metahook.FlexInt
)

// platformTime converts a platform timestamp (ms, or s when small) to UTC.
func platformTime(n flexInt) time.Time { return n.Time() }

// webhookBody is the envelope Meta posts: {"object":"instagram","entry":[...]}.
type webhookBody struct {
	Object string       `json:"object"`
	Entry  []webhookEnt `json:"entry"`
}

type webhookEnt struct {
	ID        flexString        `json:"id"`
	Time      flexInt           `json:"time"`
	Messaging []json.RawMessage `json:"messaging"`
	Standby   []json.RawMessage `json:"standby"`
	Changes   []change          `json:"changes"`
	// The documentation's example puts field/value directly in entry.
	Field string          `json:"field"`
	Value json.RawMessage `json:"value"`
}

type change struct {
	Field string          `json:"field"`
	Value json.RawMessage `json:"value"`
}

type idRef struct {
	ID flexString `json:"id"`
}

// messagingItem is one messaging[] or standby[] item; exactly one of the
// event keys is set.
type messagingItem struct {
	Sender    idRef   `json:"sender"`
	Recipient idRef   `json:"recipient"`
	Timestamp flexInt `json:"timestamp"`

	Message     *wireMessage  `json:"message"`
	Reaction    *wireReaction `json:"reaction"`
	Postback    *wirePostback `json:"postback"`
	Referral    *wireReferral `json:"referral"`
	Read        *wireRead     `json:"read"`
	MessageEdit *wireEdit     `json:"message_edit"`
	Optin       *wireOptin    `json:"optin"`
	Pass        *wireHandover `json:"pass_thread_control"`
	Take        *wireHandover `json:"take_thread_control"`
	Request     *wireHandover `json:"request_thread_control"`
}

type wireMessage struct {
	MID           flexString       `json:"mid"`
	Text          string           `json:"text"`
	Attachments   []wireAttachment `json:"attachments"`
	QuickReply    *wireQuickReply  `json:"quick_reply"`
	ReplyTo       *wireReplyTo     `json:"reply_to"`
	Referral      *wireReferral    `json:"referral"`
	IsEcho        bool             `json:"is_echo"`
	IsDeleted     bool             `json:"is_deleted"`
	IsUnsupported bool             `json:"is_unsupported"`
	IsSelf        bool             `json:"is_self"`
}

type wireQuickReply struct {
	Payload string `json:"payload"`
}

type wireAttachment struct {
	Type    string `json:"type"`
	Payload struct {
		URL         string     `json:"url"`
		Title       string     `json:"title"`
		ID          flexString `json:"id"`
		ReelVideoID flexString `json:"reel_video_id"`
	} `json:"payload"`
}

type wireReplyTo struct {
	MID   flexString `json:"mid"`
	Story *struct {
		ID  flexString `json:"id"`
		URL string     `json:"url"`
	} `json:"story"`
}

type wireReferral struct {
	Ref            string     `json:"ref"`
	Source         string     `json:"source"`
	Type           string     `json:"type"`
	AdID           flexString `json:"ad_id"`
	AdsContextData *struct {
		AdTitle  string `json:"ad_title"`
		PhotoURL string `json:"photo_url"`
		VideoURL string `json:"video_url"`
	} `json:"ads_context_data"`
}

type wireReaction struct {
	MID      flexString `json:"mid"`
	Action   string     `json:"action"`
	Reaction string     `json:"reaction"`
	Emoji    string     `json:"emoji"`
}

type wirePostback struct {
	MID      flexString    `json:"mid"`
	Title    string        `json:"title"`
	Payload  string        `json:"payload"`
	Referral *wireReferral `json:"referral"`
	IsSelf   bool          `json:"is_self"`
}

type wireRead struct {
	MID flexString `json:"mid"`
}

type wireEdit struct {
	MID     flexString `json:"mid"`
	Text    string     `json:"text"`
	NumEdit flexInt    `json:"num_edit"`
}

type wireOptin struct {
	Ref     string `json:"ref"`
	Payload string `json:"payload"`
	Type    string `json:"type"`
}

type wireHandover struct {
	PrevOwner      flexString `json:"previous_owner_app_id"`
	NewOwner       flexString `json:"new_owner_app_id"`
	RequestedOwner flexString `json:"requested_owner_app_id"`
	Metadata       string     `json:"metadata"`
}

// wireComment is the value of a comments / live_comments change.
type wireComment struct {
	ID        flexString `json:"id"`
	CommentID flexString `json:"comment_id"`
	Text      string     `json:"text"`
	ParentID  flexString `json:"parent_id"`
	Timestamp flexInt    `json:"timestamp"`
	From      struct {
		ID            flexString `json:"id"`
		Username      string     `json:"username"`
		SelfIGScopeID flexString `json:"self_ig_scoped_id"`
	} `json:"from"`
	Media struct {
		ID          flexString `json:"id"`
		ProductType string     `json:"media_product_type"`
		AdID        flexString `json:"ad_id"`
	} `json:"media"`
}
