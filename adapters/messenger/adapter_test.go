package messenger_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/adapters/adaptertest"
	"github.com/dmflow/dmflow/adapters/messenger"
	"github.com/dmflow/dmflow/adapters/messenger/messengertest"
)

const (
	page   = messengertest.DefaultPage
	psid   = "7100000000000042"
	secret = "msgr-secret"
)

func TestAdapterConformance(t *testing.T) {
	adaptertest.Run(t, func(t *testing.T) *adaptertest.Harness {
		g := messengertest.NewServer(messengertest.Config{Tokens: map[string]string{"page-token": page}})
		t.Cleanup(g.Close)
		c := messenger.NewClient(messenger.ClientConfig{BaseURL: g.URL, Tokens: messenger.PageTokens{page: "page-token"}, MaxRetries: -1})
		wh := messengertest.Webhook{Secret: secret}
		faults := map[adaptertest.Fault]messengertest.Fault{
			adaptertest.FaultThrottle:      {Code: messenger.CodeRateLimit},
			adaptertest.FaultPermanent:     {Code: messenger.CodeInvalidParam, Subcode: messenger.SubcodeNoUser},
			adaptertest.FaultAmbiguous:     {Code: messenger.CodeUnknown, Subcode: messenger.SubcodeDeliveryUnknown, Deliver: true},
			adaptertest.FaultOutsideWindow: {Code: messenger.CodePermission, Subcode: messenger.SubcodeOutsideWindow},
		}
		return &adaptertest.Harness{
			Adapter:   messenger.Adapter{VerifyToken: "vt", AppSecrets: []string{secret}},
			Handshake: url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {"vt"}, "hub.challenge": {"42"}},
			Challenge: "42",
			Sign: func(body []byte) http.Header {
				return http.Header{"X-Hub-Signature-256": {wh.Sign(body)}}
			},
			Deliveries: sampleDeliveries(wh),
			Sender:     c,
			To:         dmflow.Outgoing{Key: dmflow.SessionKey{Account: page, User: psid}, To: dmflow.Recipient{ID: psid}},
			Sent: func() []string {
				var out []string
				for _, m := range g.Messages() {
					out = append(out, m.Text)
				}
				return out
			},
			Inject: func(f adaptertest.Fault) { fl := faults[f]; fl.Times = -1; g.Inject(fl) },
			Clear:  g.ClearFaults,
		}
	})
}

func sampleDeliveries(wh messengertest.Webhook) []adaptertest.Delivery {
	return []adaptertest.Delivery{
		adaptertest.D("text", wh.Text(page, psid, "m_1", "hi"), dmflow.KindMessage),
		adaptertest.D("quick_reply", wh.QuickReply(page, psid, "m_2", "Yes", "YES"), dmflow.KindMessage),
		adaptertest.D("attachment", wh.Attachment(page, psid, "m_3", "image", "https://cdn.example/a.jpg"), dmflow.KindMessage),
		adaptertest.D("postback", wh.Postback(page, psid, "m_4", "Get Started", "START", "summer"), dmflow.KindPostback),
		adaptertest.D("reaction", wh.Reaction(page, psid, "m_1", "love", "❤"), dmflow.KindReaction),
		adaptertest.D("read", wh.Read(page, psid), dmflow.KindRead),
		adaptertest.D("delivery", wh.Delivery(page, psid, "m_9"), dmflow.KindDelivery),
		adaptertest.D("echo", wh.Echo(page, psid, "m_5", "hello", "1"), dmflow.KindEcho),
		adaptertest.D("referral", wh.Referral(page, psid, "promo"), dmflow.KindReferral),
		adaptertest.D("optin", wh.Optin(page, psid, "weekly"), dmflow.KindOptin),
		adaptertest.D("handover", wh.Handover(page, psid, "1", "2"), dmflow.KindHandover),
		adaptertest.D("standby", wh.Standby(page, psid, "m_6", "are you there"), dmflow.KindMessage),
		adaptertest.D("batch", messengertest.Merge(wh.Text(page, psid, "m_7", "a"), wh.Text(page, "7100000000000043", "m_8", "b")),
			dmflow.KindMessage, dmflow.KindMessage),
	}
}
