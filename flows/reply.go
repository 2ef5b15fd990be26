package flows

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/dmflow/dmflow"
	"gopkg.in/yaml.v3"
)

var (
	replyKeys = []string{"when", "text", "quick_replies", "cards", "buttons", "image", "video", "audio", "file", "media", "images", "heart", "share", "typing", "seen", "react", "public_reply", "moderate"}
	// replyKinds are the keys of which a reply has exactly one.
	replyKinds  = []string{"text", "cards", "buttons", "image", "video", "audio", "file", "media", "images", "heart", "share", "typing", "seen", "react", "public_reply", "moderate"}
	qrKeys      = []string{"type", "title", "payload"}
	cardKeys    = []string{"title", "subtitle", "image", "url", "buttons"}
	buttonKeys  = []string{"title", "payload", "url"}
	btnTmplKeys = []string{"text", "buttons"}
	mediaKeys   = []string{"type", "url", "attachment_id"}
)

func (d *decoder) replies(n *yaml.Node, what string) []*ReplySpec {
	if n == nil {
		return nil
	}
	var out []*ReplySpec
	for _, item := range d.seq(n, what) {
		if r := d.reply(item); r != nil {
			out = append(out, r)
		}
	}
	return out
}

func (d *decoder) reply(n *yaml.Node) *ReplySpec {
	m := d.mapping(n, "reply", replyKeys...)
	if m == nil {
		return nil
	}
	r := &ReplySpec{Pos: d.pos(n)}
	var kinds []string
	for _, k := range m.order {
		if contains(replyKinds, k) {
			kinds = append(kinds, k)
		}
	}
	if len(kinds) != 1 {
		d.errorf(r.Pos, "a reply needs exactly one of %s; got %d", strings.Join(replyKinds, ", "), len(kinds))
		return nil
	}
	if v := m.get("when"); v != nil {
		r.When = d.expr(v, "when", scopeBase, true)
	}
	if v := m.get("quick_replies"); v != nil {
		if kinds[0] != "text" {
			d.errorf(d.pos(m.keys["quick_replies"]), "quick_replies go with a text reply")
		}
		r.QuickReplies = d.quickReplies(v)
	}
	d.replyKind(r, kinds[0], m.get(kinds[0]))
	return r
}

func (d *decoder) replyKind(r *ReplySpec, kind string, v *yaml.Node) {
	switch kind {
	case "text":
		r.Text = d.localText(v, "text")
		d.limitBytes(r.Text, dmflow.MaxTextBytes, "text")
		d.limitParts(r.Text)
	case "cards":
		r.Cards = d.cards(v)
	case "buttons":
		r.Buttons = d.buttonTemplate(v)
	case "image", "video", "audio", "file", "media":
		if m := d.media(v, kind); m != nil {
			r.Media = []*MediaSpec{m}
		}
	case "images":
		r.Media = d.images(v)
	case "heart":
		r.Heart = d.mustTrue(v, "heart")
	case "seen":
		r.Seen = d.mustTrue(v, "seen")
	case "share":
		r.Share = d.template(v, "share", scopeBase)
	case "react":
		r.React = d.template(v, "react", scopeBase)
	case "typing":
		r.Typing = d.onOff(v)
	case "public_reply":
		r.PublicReply = d.localText(v, "public_reply")
		d.limitChars(r.PublicReply, dmflow.MaxCommentLen, "public_reply")
	case "moderate":
		var ok bool
		r.Moderate, ok = d.str(v, "moderate")
		switch r.Moderate {
		case dmflow.ModerateHide, dmflow.ModerateUnhide, dmflow.ModerateDelete:
		default:
			if !ok {
				break
			}
			d.errorf(d.pos(v), "moderate must be hide, unhide or delete")
		}
	}
}

func (d *decoder) mustTrue(n *yaml.Node, what string) bool {
	v, ok := d.boolean(n, what)
	if ok && !v {
		d.errorf(d.pos(n), "%s: only true is meaningful (remove the reply instead)", what)
	}
	return v
}

func (d *decoder) onOff(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!bool" {
		if n.Value == "true" {
			return "on"
		}
		return "off"
	}
	s, _ := d.str(n, "typing")
	if s != "on" && s != "off" {
		d.errorf(d.pos(n), "typing must be on or off")
	}
	return s
}

func (d *decoder) quickReplies(n *yaml.Node) []*QuickReplySpec {
	return listOf(d, n, "quick_replies", "quick replies", dmflow.MaxQuickReplies, d.quickReply)
}

// listOf decodes the list n with one, reporting more than limit items.
func listOf[T any](d *decoder, n *yaml.Node, key, noun string, limit int, one func(*yaml.Node) *T) []*T {
	items := d.seq(n, key)
	if len(items) > limit {
		d.errorf(d.pos(n), "%d %s; Instagram allows at most %d", len(items), noun, limit)
	}
	var out []*T
	for _, it := range items {
		if x := one(it); x != nil {
			out = append(out, x)
		}
	}
	return out
}

func (d *decoder) quickReply(n *yaml.Node) *QuickReplySpec {
	q := &QuickReplySpec{Pos: d.pos(n), Type: "text"}
	if n.Kind == yaml.ScalarNode || isLocalized(n) { // short form: "- Pricing", "- {en: Pricing, es: Precios}"
		q.Title = d.localText(n, "quick reply title")
		q.Payload, q.derived = titlePayload(q.Title)
		d.limitChars(q.Title, dmflow.MaxQuickReplyLen, "quick reply title")
		return q
	}
	m := d.mapping(n, "quick reply", qrKeys...)
	if m == nil {
		return nil
	}
	if v := m.get("type"); v != nil {
		q.Type, _ = d.str(v, "quick reply type")
	}
	switch q.Type {
	case "text":
		if !d.require(n, m, "quick reply", "title") {
			return nil
		}
		q.Title = d.localText(m.get("title"), "quick reply title")
		d.limitChars(q.Title, dmflow.MaxQuickReplyLen, "quick reply title")
		q.Payload, q.derived = titlePayload(q.Title)
		if v := m.get("payload"); v != nil {
			q.Payload, _ = d.str(v, "payload")
			q.derived = false
		}
	case "user_email", "user_phone_number":
		if m.has("title") || m.has("payload") {
			d.errorf(q.Pos, "quick reply of type %s has no title or payload", q.Type)
		}
	default:
		d.errorf(d.pos(m.get("type")), "unknown quick reply type %q (text, user_email, user_phone_number)", q.Type)
	}
	return q
}

// isLocalized reports whether a quick reply written as a mapping is the
// short form of a localized title ({en: Pricing, es: Precios}) rather than
// {type, title, payload}: it has none of those keys, and a locale key (a
// typo like {titel: Yes} is reported as an unknown quick-reply key).
func isLocalized(n *yaml.Node) bool {
	if n.Kind != yaml.MappingNode {
		return false
	}
	locale := false
	for i := 0; i < len(n.Content); i += 2 {
		k := n.Content[i].Value
		if contains(qrKeys, k) {
			return false
		}
		locale = locale || localeRE.MatchString(k)
	}
	return locale
}

// titlePayload derives the payload of a quick reply without one from its
// title: the title's, or for a localized title the first version's (the
// bundle derives it again from the default locale's title: derived).
func titlePayload(t *Template) (payload string, derived bool) {
	switch {
	case t == nil:
		return "", false
	case len(t.Localized) > 0:
		return payloadOf(t.Localized[0].Src), true
	}
	return payloadOf(t.Src), false
}

// payloadOf derives the payload of a short-form quick reply: "Talk to us" →
// "TALK_TO_US".
func payloadOf(title string) string {
	var b strings.Builder
	sep := false
	for _, r := range strings.TrimSpace(title) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if sep && b.Len() > 0 {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToUpper(r))
			sep = false
			continue
		}
		sep = true
	}
	return b.String()
}

func (d *decoder) cards(n *yaml.Node) []*CardSpec {
	if n.Kind == yaml.SequenceNode && len(n.Content) == 0 {
		d.errorf(d.pos(n), "cards must not be empty")
	}
	return listOf(d, n, "cards", "cards", dmflow.MaxElements, d.card)
}

func (d *decoder) card(n *yaml.Node) *CardSpec {
	m, title := d.titled(n, "card", cardKeys, dmflow.MaxElementTextLen)
	if m == nil {
		return nil
	}
	c := &CardSpec{Pos: d.pos(n), Title: title}
	if v := m.get("subtitle"); v != nil {
		c.Subtitle = d.localText(v, "card subtitle")
		d.limitChars(c.Subtitle, dmflow.MaxElementTextLen, "card subtitle")
	}
	c.Image = d.optTemplate(m.get("image"), "card image")
	c.URL = d.optTemplate(m.get("url"), "card url")
	c.Buttons = d.buttons(m.get("buttons"))
	return c
}

// titled checks a mapping with a required, length-limited title.
func (d *decoder) titled(n *yaml.Node, what string, keys []string, limit int) (*fields, *Template) {
	m := d.mapping(n, what, keys...)
	if !d.require(n, m, what, "title") {
		return nil, nil
	}
	t := d.localText(m.get("title"), what+" title")
	d.limitChars(t, limit, what+" title")
	return m, t
}

func (d *decoder) optTemplate(n *yaml.Node, what string) *Template {
	if n == nil {
		return nil
	}
	return d.template(n, what, scopeBase)
}

func (d *decoder) buttonTemplate(n *yaml.Node) *ButtonsSpec {
	m := d.mapping(n, "buttons reply", btnTmplKeys...)
	if !d.require(n, m, "buttons reply", "text", "buttons") {
		return nil
	}
	b := &ButtonsSpec{Pos: d.pos(n)}
	b.Text = d.localText(m.get("text"), "text")
	d.limitBytes(b.Text, dmflow.MaxButtonTextLen, "button template text")
	b.Buttons = d.buttons(m.get("buttons"))
	if len(b.Buttons) == 0 {
		d.errorf(b.Pos, "a buttons reply needs at least one button")
	}
	return b
}

func (d *decoder) buttons(n *yaml.Node) []*ButtonSpec {
	if n == nil {
		return nil
	}
	return listOf(d, n, "buttons", "buttons", dmflow.MaxButtons, d.button)
}

func (d *decoder) button(n *yaml.Node) *ButtonSpec {
	m, title := d.titled(n, "button", buttonKeys, dmflow.MaxQuickReplyLen)
	if m == nil {
		return nil
	}
	b := &ButtonSpec{Pos: d.pos(n), Title: title}
	if m.has("payload") == m.has("url") {
		d.errorf(b.Pos, "a button needs exactly one of payload or url")
	}
	if v := m.get("payload"); v != nil {
		b.Payload, _ = d.str(v, "payload")
	}
	b.URL = d.optTemplate(m.get("url"), "button url")
	return b
}

// media decodes `image: URL`, `image: {url|attachment_id}` or
// `media: {type, url|attachment_id}`.
func (d *decoder) media(n *yaml.Node, kind string) *MediaSpec {
	ms := &MediaSpec{Pos: d.pos(n), Type: kind}
	if n.Kind == yaml.ScalarNode && kind != "media" {
		ms.URL = d.template(n, kind+" url", scopeBase)
		return ms
	}
	m := d.mapping(n, kind, mediaKeys...)
	if m == nil {
		return nil
	}
	if v := m.get("type"); v != nil {
		ms.Type, _ = d.str(v, "media type")
	}
	if !contains([]string{"image", "video", "audio", "file"}, ms.Type) || (m.has("type") && kind != "media") {
		d.errorf(ms.Pos, "media type must be image, video, audio or file (as key, or type: under media)")
	}
	if m.has("url") == m.has("attachment_id") {
		d.errorf(ms.Pos, "%s needs exactly one of url or attachment_id", kind)
	}
	ms.URL = d.optTemplate(m.get("url"), "url")
	if v := m.get("attachment_id"); v != nil {
		ms.AttachmentID, _ = d.str(v, "attachment_id")
	}
	return ms
}

func (d *decoder) images(n *yaml.Node) []*MediaSpec {
	one := func(it *yaml.Node) *MediaSpec { return d.media(it, "image") }
	return listOf(d, n, "images", "images", dmflow.MaxImages, one)
}

// limitBytes checks the length of a static template.
func (d *decoder) limitBytes(t *Template, limit int, what string) {
	if t != nil && len(t.Localized) > 0 {
		for _, l := range t.Localized {
			d.limitBytes(l.Template, limit, what+" ("+l.Locale+")")
		}
		return
	}
	if t != nil && t.Static() && len(t.Src) > limit {
		d.errorf(t.Pos, "%s is %d bytes; Instagram allows at most %d", what, len(t.Src), limit)
	}
}

// limitParts reports a text template whose literal parts alone exceed what
// one reply may be split into (dmflow.MaxTextParts messages): whatever its
// placeholders render, it would be cut.
func (d *decoder) limitParts(t *Template) {
	if t == nil || t.Static() {
		return
	}
	if len(t.Localized) > 0 {
		for _, l := range t.Localized {
			d.limitParts(l.Template)
		}
		return
	}
	n := 0
	for _, p := range t.Parts {
		if p.Expr == nil {
			n += len(p.Lit)
		}
	}
	if limit := dmflow.MaxTextParts * dmflow.MaxTextBytes; n > limit {
		d.errorf(t.Pos, "text has %d bytes of literal text; a reply is sent in at most %d messages of %d bytes (%d bytes)",
			n, dmflow.MaxTextParts, dmflow.MaxTextBytes, limit)
	}
}

func (d *decoder) limitChars(t *Template, limit int, what string) {
	if t != nil && len(t.Localized) > 0 {
		for _, l := range t.Localized {
			d.limitChars(l.Template, limit, what+" ("+l.Locale+")")
		}
		return
	}
	if t == nil || !t.Static() {
		return
	}
	if n := utf8.RuneCountInString(t.Src); n > limit {
		d.errorf(t.Pos, "%s %q is %d characters; Instagram allows at most %d", what, t.Src, n, limit)
	}
	if strings.TrimSpace(t.Src) == "" {
		d.errorf(t.Pos, "%s must not be empty", what)
	}
}
