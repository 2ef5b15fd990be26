package instagram_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/adapters/adaptertest"
	"github.com/dmflow/dmflow/adapters/instagram"
	"github.com/dmflow/dmflow/adapters/instagram/igtest"
)

// TestAdapterConformance runs the shared adapter suite against igtest.
func TestAdapterConformance(t *testing.T) {
	adaptertest.Run(t, func(t *testing.T) *adaptertest.Harness {
		const acct, user, secret = igtest.DefaultAccount, "1790000000000042", "conformance-secret"
		g := igtest.NewServer(igtest.Config{})
		t.Cleanup(g.Close)
		c := instagram.NewClient(instagram.ClientConfig{BaseURL: g.URL, Tokens: instagram.StaticToken("tok"), MaxRetries: -1})
		wh := igtest.Webhook{Secret: secret}
		faults := map[adaptertest.Fault]igtest.Fault{
			adaptertest.FaultThrottle:      {Code: instagram.CodeRateLimit},
			adaptertest.FaultPermanent:     {Code: instagram.CodeInvalidParam},
			adaptertest.FaultAmbiguous:     {Code: instagram.CodeUnknown, Subcode: instagram.SubcodeDeliveryUnknown},
			adaptertest.FaultOutsideWindow: {Code: instagram.CodePermission, Subcode: instagram.SubcodeOutsideWindow},
		}
		return &adaptertest.Harness{
			Adapter:   instagram.Adapter{VerifyToken: "vt", Verifier: instagram.Verifier{Secrets: []string{secret}}},
			Handshake: url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {"vt"}, "hub.challenge": {"1158201444"}},
			Challenge: "1158201444",
			Sign: func(body []byte) http.Header {
				return http.Header{instagram.HeaderSignature256: {wh.Sign(body)}}
			},
			Deliveries: []adaptertest.Delivery{
				adaptertest.D("text", wh.Text(acct, user, "m1", "hi"), dmflow.KindMessage),
				adaptertest.D("quick_reply", wh.QuickReply(acct, user, "m2", "Yes", "YES"), dmflow.KindMessage),
				adaptertest.D("postback", wh.Postback(acct, user, "m3", "Start", "START"), dmflow.KindPostback),
				adaptertest.D("reaction", wh.Reaction(acct, user, "m1", "love"), dmflow.KindReaction),
				adaptertest.D("read", wh.Read(acct, user, "m1"), dmflow.KindRead),
				adaptertest.D("echo", wh.Echo(acct, user, "m4", "hello", "1"), dmflow.KindEcho),
				adaptertest.D("batch", igtest.Merge(wh.Text(acct, user, "m5", "a"), wh.Text(acct, "1790000000000043", "m6", "b")),
					dmflow.KindMessage, dmflow.KindMessage),
			},
			Sender: c,
			To:     dmflow.Outgoing{Key: dmflow.SessionKey{Account: acct, User: user}, To: dmflow.Recipient{ID: user}},
			Sent: func() []string {
				var out []string
				for _, m := range g.Messages() {
					out = append(out, m.Text())
				}
				return out
			},
			Inject: func(f adaptertest.Fault) { fl := faults[f]; fl.Times = -1; fl.Path = "/messages"; g.Inject(fl) },
			Clear:  g.ClearFaults,
		}
	})
}
