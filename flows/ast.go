package flows

import (
	"fmt"
	"time"

	"github.com/expr-lang/expr/vm"
)

// Pos is a position in a flow file. Line and Col are 1-based.
type Pos struct {
	File string
	Line int
	Col  int
}

// String renders "file:line:col".
func (p Pos) String() string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col) }

// Bundle is a set of flows loaded together (one bot): the main flow and the
// sub-flows it calls. It is immutable once loaded.
type Bundle struct {
	Main  string           // name of the entry flow
	Flows map[string]*Flow // by name
	Files []string         // files loaded, in order
	// Warnings are the load's warnings, sorted (the load error is nil when
	// there are only warnings). `dmflow validate --strict` fails on them.
	Warnings ErrorList
	// Locales are the languages the bundle's texts come in: the main flow's
	// `locales`, nil when the bundle is not localized.
	Locales *Locales
	// Channels are the channels the bundle runs on: the main flow's
	// `channels`, nil when it declares none (then DefaultChannels apply;
	// see ChannelNames). `dmflow validate` checks every reply renders on
	// each of them.
	Channels []Channel
}

// Locales declares the languages of a bundle's localized texts (`locales:`
// in the main flow). Every localized text has a variant for each of
// Supported; the engine renders the one of the user's locale, read from
// the main flow's variable Var and matched against Supported (see Match),
// else Default.
type Locales struct {
	Pos        Pos
	Default    string
	DefaultPos Pos
	// Supported are the locales every localized text has, in file order
	// (Default among them).
	Supported []string
	// Var is the main flow's string variable holding the user's locale
	// (set it from a language menu, a keyword, an action's answer...).
	Var    string
	VarPos Pos
}

// Flow is one flow file: a finite-state machine over conversation states.
type Flow struct {
	Name        string
	Version     int
	Description string
	Main        bool // `main: true`: the bundle's entry flow
	Pos         Pos
	Start       string // the state a new session enters
	StartPos    Pos
	Vars        []*Var // declared variables, in file order
	Triggers    []*Transition
	States      map[string]*State
	Order       []string // state names in file order
	// Migrate maps states removed in this version to the state their sessions
	// continue in.
	Migrate map[string]string
	// Params are the variables a caller passes when it calls this flow as a
	// sub-flow (subset of Vars).
	Params []string
	// Settle merges a burst of messages into one turn: messages that arrive
	// within Settle after the first one are handled together (0 = off). A
	// state's own Settle overrides it.
	Settle    time.Duration
	SettlePos Pos
	// Locales is the flow's `locales` (only the main flow may declare it;
	// Bundle.Locales is what applies).
	Locales *Locales
	// Channels is the flow's `channels` (main flow only; Bundle.Channels
	// is what applies), at ChannelsPos.
	Channels    []Channel
	ChannelsPos Pos
	// LookupMedia asks the bot to look up the commented media's caption
	// and permalink (cached) before stepping a comment event
	// (event.caption, event.permalink).
	LookupMedia bool
	// Warnings are the static-check warnings about this flow.
	Warnings ErrorList
}

// VarType is the declared type of a variable.
type VarType string

// Variable types.
const (
	TypeString VarType = "string"
	TypeInt    VarType = "int"
	TypeFloat  VarType = "float"
	TypeBool   VarType = "bool"
	TypeTime   VarType = "time"     // stored as RFC 3339 text
	TypeList   VarType = "[]string" // list of strings
	TypeMap    VarType = "map"      // free-form JSON object (e.g. an action response)
	TypeAny    VarType = "any"
)

// Var is a declared flow variable.
type Var struct {
	Name    string
	Type    VarType
	Default any // nil: the type's zero value
	Pos     Pos
}

// State is one state of a flow. Its phases run in this order:
//
//  1. enter: Set assignments, then Say replies, then the Timeout is armed,
//     then Action is started, Call enters a sub-flow, Handoff pauses the bot,
//     End finishes the session, Return goes back to the caller;
//  2. wait: if the state has Ask or On, it waits for the next event;
//     otherwise it follows Next immediately;
//  3. input: triggers first (global, even while an Ask waits), then the Ask
//     capture (valid input is stored, invalid input reprompts), then On
//     transitions in order, then Next.
type State struct {
	Name    string
	Pos     Pos
	Set     []*Assign
	Say     []*ReplySpec
	Ask     *Ask
	On      []*Transition
	Next    *Target
	Timeout *Timeout
	Handoff *HandoffSpec
	End     bool
	Call    *Call
	Return  bool
	Action  *ActionSpec
	// Split sends the session on to one of several variants of an A/B
	// experiment, chosen deterministically per user (see SplitSpec).
	Split    *SplitSpec
	Describe string // optional note shown in graphs and the studio
	// Settle, when set, overrides the flow's Settle while the session waits
	// in this state (0 turns settling off here).
	Settle *time.Duration
	// SettlePos is the position of the settle key (valid when Settle is set).
	SettlePos Pos
	// RefreshProfile: input arriving while the session waits here is
	// stepped with a freshly fetched profile ("follow us, then tap Check
	// again"), whatever the age of the cached one.
	RefreshProfile bool
}

// SplitSpec is an A/B experiment: entering the state assigns the user to
// one variant by weight (the first time; the assignment is kept in the
// session) and goes to that variant's state at once.
type SplitSpec struct {
	Pos        Pos
	Experiment string // [a-z0-9_-]+; also the metrics label
	Variants   []*Variant
}

// Variant is one arm of a split.
type Variant struct {
	Pos    Pos
	Name   string // [a-z0-9_-]+, unique in the split
	Weight int    // >= 0; the share is Weight / sum of the weights
	Goto   *Target
}

// MaxSettle bounds `settle`: a longer window makes the bot look absent.
const MaxSettle = time.Minute

// Target is where a transition goes: a state of the same flow.
type Target struct {
	State string
	Pos   Pos
}

// Transition is a trigger or an `on` transition: when the condition holds
// (nil When always holds: a fallback), run Set and Say, then go to Goto.
type Transition struct {
	Pos      Pos
	When     *Expr    // bool expression; nil = always
	Keywords []string // sugar: matches when the lower-cased, trimmed text equals one of them
	Set      []*Assign
	Say      []*ReplySpec
	Goto     *Target // nil = stay (re-enter nothing, keep waiting)
	Handoff  bool    // trigger sugar: hand off to a human
}

// Assign is one `set` entry: Var = Value.
type Assign struct {
	Var   string
	Value *Expr
	Pos   Pos
}

// AskType is the kind of input an Ask captures.
type AskType string

// Ask types.
const (
	AskText       AskType = "text"
	AskNumber     AskType = "number"
	AskEmail      AskType = "email"
	AskPhone      AskType = "phone"
	AskURL        AskType = "url"
	AskDate       AskType = "date"
	AskChoice     AskType = "choice"
	AskAttachment AskType = "attachment"
)

// Ask captures the next user input into a variable.
type Ask struct {
	Pos      Pos
	Var      string
	Type     AskType
	Choices  []string // AskChoice: accepted values (payloads or titles)
	Validate *Expr    // extra bool check with `input` bound; nil = type check only
	// Retry is the reprompt ladder: attempt n (1-based) says Retry[min(n,len)-1].
	Retry       []*ReplySpec
	MaxAttempts int     // 0 = unlimited
	OnFail      *Target // where to go after MaxAttempts failures
	// Input is the type of `input` and of the captured value: float or int
	// (the variable's type) for number, time for date, string otherwise.
	Input VarType
}

// Timeout is a durable timer armed when the state is entered and cancelled
// when the state is left.
type Timeout struct {
	Pos   Pos
	After time.Duration
	Say   []*ReplySpec
	Goto  *Target
}

// HandoffSpec pauses the bot for the user until released.
type HandoffSpec struct {
	Pos    Pos
	Reason *Template
	// ReleaseAfter releases automatically after this idle time (0 = server default).
	ReleaseAfter time.Duration
	// Next is where the session continues when released (nil = the flow's start).
	Next *Target
	// Inbox passes the thread to the Instagram inbox (Meta's conversation
	// routing, the inbox app from the server's configuration), so agents
	// answer there; releasing the handoff takes it back. Metadata is sent
	// along with the pass.
	Inbox    bool
	Metadata *Template
}

// Call enters a sub-flow; when it reaches a `return: true` state, the session
// continues at Return in the calling flow.
//
// Each flow of a session has its own variables: the sub-flow starts with its
// params set from Args (the rest at their defaults) and sees none of the
// caller's variables; when it returns, Save copies some of its variables
// into the caller's, which the sub-flow did not otherwise change.
type Call struct {
	Pos    Pos
	Flow   string
	Args   []*Assign // sub-flow params = expressions in the caller
	Save   []*CallSave
	Return *Target
}

// CallSave copies the sub-flow's variable From into the caller's variable
// Var when the sub-flow returns (`save: {var: from}`).
type CallSave struct {
	Var, From    string
	Pos, FromPos Pos // of the caller's name and of the sub-flow's name
}

// MaxActionTime bounds an action's worst case, Timeout × (Retries+1): a
// longer action is a load error. The bot's action lease (bot.Config.
// ActionLease, 2 min by default) must outlast every attempt plus the retry
// delays, or the call is cut short, so the limit leaves room for both.
const MaxActionTime = 90 * time.Second

// ActionSpec declares a call to an external system (HTTP) or a registered Go
// action. The engine emits it as an effect; its result arrives as an event.
type ActionSpec struct {
	Pos     Pos
	Name    string // Go action name (Kind "go") or a label for the HTTP call
	Kind    string // "http" or "go"
	Method  string
	URL     *Template            // see CheckRequestURL; may reference ${SECRET}
	Headers map[string]*Template // literal names; values may reference ${SECRET}
	Body    *Expr                // JSON body (any value)
	Args    []*Assign            // Go action arguments
	Timeout time.Duration
	Retries int
	// Save maps variables to expressions over `response` (status, body).
	Save      []*Assign
	Next      *Target // on success
	OnError   *Target
	OnTimeout *Target
	// WhilePending is what to do with user messages that arrive while the
	// call runs: "queue" (default: handled after the result) or "ignore".
	WhilePending string
}

// ReplySpec is one declared reply. Exactly one kind is set.
type ReplySpec struct {
	Pos          Pos
	When         *Expr // optional condition
	Text         *Template
	QuickReplies []*QuickReplySpec
	Media        []*MediaSpec // image/video/audio/file, or several images
	Heart        bool
	Share        *Template // post id
	Buttons      *ButtonsSpec
	Cards        []*CardSpec
	Typing       string // "on" | "off"
	Seen         bool
	React        *Template // reaction to the user's last message ("love" or an emoji; "" = unreact)
	// PublicReply is a public reply under the comment being handled;
	// Moderate hides, unhides or deletes it (dmflow.Moderate*).
	PublicReply *Template
	Moderate    string
}

// QuickReplySpec is a quick-reply chip.
type QuickReplySpec struct {
	Pos     Pos
	Type    string // text | user_email | user_phone_number
	Title   *Template
	Payload string
	// derived: Payload was derived from a localized Title (the bundle
	// derives it again from the default locale's title).
	derived bool
}

// MediaSpec is an attachment by URL or attachment id.
type MediaSpec struct {
	Pos          Pos
	Type         string // image | video | audio | file
	URL          *Template
	AttachmentID string
}

// ButtonsSpec is a button template.
type ButtonsSpec struct {
	Pos     Pos
	Text    *Template
	Buttons []*ButtonSpec
}

// ButtonSpec is a postback or web_url button.
type ButtonSpec struct {
	Pos     Pos
	Title   *Template
	Payload string
	URL     *Template
}

// CardSpec is one element of a generic template (carousel).
type CardSpec struct {
	Pos      Pos
	Title    *Template
	Subtitle *Template
	Image    *Template
	URL      *Template // default action
	Buttons  []*ButtonSpec
}

// Expr is a compiled expr-lang expression with its source position.
type Expr struct {
	Src  string
	Pos  Pos
	Prog *vm.Program // compiled against the flow's typed environment at load time
	// Refs are the top-level names the expression reads (variables, event,
	// user, input, ...), sorted.
	Refs []string
}

// Template is reply text with `{{ expr }}` placeholders, compiled at load time.
type Template struct {
	Src   string
	Pos   Pos
	Parts []TemplatePart
	// Localized holds the versions of a localized text (`{en: ..., es:
	// ...}`), in file order; nil for plain text. A localized template has
	// no Src or Parts of its own: render the version In picks.
	Localized []*LocalText
}

// In returns the version of t to render for locale: t itself when it is
// not localized, else the version of locale, else of def, else the first.
func (t *Template) In(locale, def string) *Template {
	if t == nil || len(t.Localized) == 0 {
		return t
	}
	var fallback *Template
	for _, l := range t.Localized {
		switch l.Locale {
		case locale:
			return l.Template
		case def:
			fallback = l.Template
		}
	}
	if fallback != nil {
		return fallback
	}
	return t.Localized[0].Template
}

// TemplatePart is literal text or an expression whose value is inserted.
type TemplatePart struct {
	Lit  string
	Expr *Expr // nil for literal parts
	// Secret is set, in an HTTP action's URL and header values only, on a
	// literal part that is a ${NAME} reference (Lit is "${NAME}"): the
	// runner resolves it when the call runs.
	Secret string
	// Esc is how an expression's value is encoded where it is inserted
	// (EscNone outside HTTP action requests).
	Esc Escape
}

// LocalText is one locale's version of a localized text.
type LocalText struct {
	Locale string
	KeyPos Pos // position of the locale key
	*Template
}

// Static reports whether the template has no expressions (its text is known at load time).
func (t *Template) Static() bool {
	for _, l := range t.Localized {
		if !l.Static() {
			return false
		}
	}
	for _, p := range t.Parts {
		if p.Expr != nil {
			return false
		}
	}
	return true
}
