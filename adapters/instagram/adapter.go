package instagram

import (
	"net/http"
	"net/url"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/internal/metahook"
)

// Adapter is the Instagram channel as a dmflow.Adapter: the handshake
// with VerifyToken, signatures checked by Verifier, and Parse.
type Adapter struct {
	VerifyToken string
	Verifier    Verifier
}

var _ dmflow.Adapter = Adapter{}

// Channel returns Channel.
func (Adapter) Channel() string { return Channel }

// Handshake answers the subscription check with a.VerifyToken.
func (a Adapter) Handshake(q url.Values) (string, error) {
	return metahook.Handshake("instagram", q, a.VerifyToken)
}

// Verify checks the signature with a.Verifier.
func (a Adapter) Verify(body []byte, h http.Header) error { return a.Verifier.Verify(body, h) }

// Parse is the package's Parse.
func (Adapter) Parse(body []byte) ([]dmflow.Event, error) { return Parse(body) }

// Capabilities are the Instagram Send API's (docs: /work/shared/instagram-api.md
// and the package doc).
func (Adapter) Capabilities() dmflow.Capabilities { return Capabilities }

// Capabilities of the Instagram Send API.
var Capabilities = dmflow.Capabilities{
	Replies: []dmflow.ReplyKind{dmflow.ReplyText, dmflow.ReplyMedia, dmflow.ReplyLikeHeart, dmflow.ReplyMediaShare,
		dmflow.ReplyGeneric, dmflow.ReplyButtons, dmflow.ReplyAction, dmflow.ReplyReact,
		dmflow.ReplyCommentReply, dmflow.ReplyModerate, dmflow.ReplyThreadControl},
	MaxText: dmflow.MaxTextBytes, MaxTextUnit: "bytes",
	MaxQuickReplies: dmflow.MaxQuickReplies, MaxButtons: dmflow.MaxButtons, MaxElements: dmflow.MaxElements,
	Tags: []string{dmflow.TagHumanAgent},
}
