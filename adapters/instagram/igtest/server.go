package igtest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Defaults of Config.
const (
	DefaultAccount   = "17841400000000001"
	DefaultUsername  = "acme"
	DefaultAppID     = "990000000000001"
	DefaultAppSecret = "igtest-app-secret"
	// DefaultAppUserID is the app-scoped user id the token exchange returns.
	// It is above 2^53 on purpose: a client decoding it as float64 breaks.
	DefaultAppUserID = "27841499999999999"
)

// Config configures the double. The zero Config is usable: any non-empty
// token is accepted and speaks for DefaultAccount.
type Config struct {
	// Version is the API version path prefix the double requires on
	// versioned endpoints (e.g. "v25.0"); "" accepts any "vNN.N" or none.
	Version string
	// Account and Username identify the business account of /me
	// (defaults DefaultAccount and DefaultUsername).
	Account, Username string
	// AccessTokens maps tokens to the account they speak for. When nil, any
	// non-empty token is valid for Account. Tokens issued through the OAuth
	// endpoints are always valid until they expire.
	AccessTokens map[string]string
	// AnyAccount makes a valid token speak for whichever account a path
	// names (the sandbox plays several accounts with one token).
	AnyAccount bool
	// AppID and AppSecret are the OAuth client credentials the double
	// accepts (defaults DefaultAppID and DefaultAppSecret).
	AppID, AppSecret string
	// OAuthDataWrapped makes the code exchange answer in the documented
	// {"data":[{...}]} shape instead of the flat shape seen in production.
	OAuthDataWrapped bool
	// StrictWindow treats users never passed to SetUserMessagedAt as outside
	// the messaging window, and comments never passed to AddComment as
	// unknown, as the real platform would.
	StrictWindow bool
	// Now is the double's clock (default time.Now).
	Now func() time.Time
	// Seed seeds the random source of fractional faults.
	Seed uint64
	// OnMessage, when set, is called synchronously with every accepted send.
	OnMessage func(Message)
	// OnEcho, when set, receives the signed echo webhook Instagram would
	// deliver after each accepted message (not for sender actions or
	// reactions, which produce no echo). It is called before the send's
	// response is written, so a test sees the echo no later than the reply.
	OnEcho func(body []byte, signature string)
	// WebhookSecret signs echo bodies.
	WebhookSecret string
	// NoConversationRouting makes take_thread_control fail with (#27), as
	// for an account without conversation routing.
	NoConversationRouting bool
	// NoThreadControl makes every *_thread_control edge answer Graph's
	// unknown-operation error ((#100) "Unsupported post request", subcode
	// 33), as a host that does not serve conversation routing would: Meta
	// documents the edges on graph.facebook.com with Page tokens, not on
	// graph.instagram.com with Instagram User tokens (adapters/instagram,
	// doc.go, "Routing to people"). The error Meta would actually answer
	// there is not documented [inferred].
	NoThreadControl bool
}

// Server is an in-process double of the Instagram Graph API
// (graph.instagram.com, api.instagram.com and the www.instagram.com OAuth
// dialog). It is an http.Handler; NewServer also listens on 127.0.0.1.
// All methods are safe for concurrent use.
type Server struct {
	// URL is the base URL of the listening server ("" for a Server from New).
	URL string

	cfg  Config
	http *httptest.Server

	mu        sync.Mutex
	rng       *rand.Rand
	seq       int
	messages  []Message
	changed   chan struct{}
	subs      map[int]chan Message
	windows   map[string]time.Time
	comments  map[string]*comment
	profiles  map[string]UserProfile
	tokens    map[string]*token
	codes     map[string]*authCode
	faults    []*Fault
	msgrProf  map[string]map[string]json.RawMessage
	subFields map[string][]string
	calls     int

	commentActs  []CommentAction
	threadActs   []ThreadAction
	owners       map[string]string // account/user → app owning the thread (absent: ours)
	media        map[string]MediaInfo
	mediaReads   int
	welcome      map[string]WelcomeFlow
	welcomeOrder []string
	revoked      map[string]map[string]bool // account → withdrawn permissions
}

// UserProfile is what the double answers for GET /{igsid} (User Profile
// API). Nil fields are left out of the answer, as Instagram may do.
type UserProfile struct {
	Username, Name  string
	ProfilePic      string
	FollowsBusiness *bool // is_user_follow_business
	BusinessFollows *bool // is_business_follow_user
	FollowerCount   *int
	Verified        *bool // is_verified_user
}

// profileFields are the fields GET /{igsid} knows; others are error 100.
var profileFields = []string{"id", "name", "username", "profile_pic", "follower_count",
	"is_user_follow_business", "is_business_follow_user", "is_verified_user"}

type comment struct {
	user    string
	at      time.Time
	replied bool
	info    CommentInfo
	hidden  bool
	deleted bool
}

type token struct {
	account string
	issued  time.Time
	expires time.Time
	long    bool
}

type authCode struct {
	redirect string
	scopes   string
	expires  time.Time
}

// New returns a double that is not listening; mount it on a mux (with
// http.StripPrefix if needed) and point clients at that base URL.
func New(cfg Config) *Server {
	if cfg.Account == "" {
		cfg.Account = DefaultAccount
	}
	if cfg.Username == "" {
		cfg.Username = DefaultUsername
	}
	if cfg.AppID == "" {
		cfg.AppID = DefaultAppID
	}
	if cfg.AppSecret == "" {
		cfg.AppSecret = DefaultAppSecret
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{
		cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		changed: make(chan struct{}), subs: map[int]chan Message{},
		windows: map[string]time.Time{}, comments: map[string]*comment{},
		profiles: map[string]UserProfile{}, tokens: map[string]*token{}, codes: map[string]*authCode{},
		msgrProf: map[string]map[string]json.RawMessage{}, subFields: map[string][]string{},
		revoked: map[string]map[string]bool{}, owners: map[string]string{},
		media: map[string]MediaInfo{}, welcome: map[string]WelcomeFlow{},
	}
	return s
}

// NewServer starts the double on 127.0.0.1 and sets URL. Call Close when done.
func NewServer(cfg Config) *Server {
	s := New(cfg)
	s.http = httptest.NewServer(s)
	s.URL = s.http.URL
	return s
}

// Close stops a listening server and ends subscriptions.
func (s *Server) Close() {
	if s.http != nil {
		s.http.CloseClientConnections()
		s.http.Close()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, ch := range s.subs {
		close(ch)
		delete(s.subs, id)
	}
}

// Messages returns a copy of the accepted sends, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Calls returns how many requests the double has received, faults included.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// WaitMessages blocks until at least n sends were accepted and returns them,
// or returns ctx's error.
func (s *Server) WaitMessages(ctx context.Context, n int) ([]Message, error) {
	return waitFor(ctx, s, n, "messages", func() []Message { return s.messages })
}

// waitFor blocks until list (read under s.mu) holds at least n items and
// returns a copy, or returns ctx's error.
func waitFor[T any](ctx context.Context, s *Server, n int, what string, list func() []T) ([]T, error) {
	for {
		s.mu.Lock()
		if l := list(); len(l) >= n {
			out := append([]T(nil), l...)
			s.mu.Unlock()
			return out, nil
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("igtest: waiting for %d %s: %w", n, what, ctx.Err())
		case <-ch:
		}
	}
}

// Subscribe returns a channel receiving every accepted send from now on and
// a function ending the subscription. A subscriber that falls more than
// buffer messages behind misses messages (Messages still has them all).
func (s *Server) Subscribe(buffer int) (<-chan Message, func()) {
	ch := make(chan Message, max(buffer, 1))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	id := s.seq
	s.subs[id] = ch
	return ch, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if _, ok := s.subs[id]; ok {
			delete(s.subs, id)
			close(ch)
		}
	}
}

// Reset forgets recorded messages (windows, tokens and faults stay).
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages = nil
}

// SetUserMessagedAt records the user's last message time, which opens the
// 24-hour window (7 days with the HUMAN_AGENT tag).
func (s *Server) SetUserMessagedAt(igsid string, t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.windows[igsid] = t
}

// AddComment registers a comment by user made at t, which may receive one
// private reply within 7 days.
func (s *Server) AddComment(commentID, igsid string, t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.comments[commentID] = &comment{user: igsid, at: t, info: CommentInfo{ID: commentID, User: igsid, At: t}}
}

// SetProfile sets what GET /{igsid} answers. Users without a profile get
// error 230 (no consent), as users who never messaged the account do.
func (s *Server) SetProfile(igsid string, p UserProfile) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.profiles[igsid] = p
}

// EnsureProfile sets igsid's profile to p unless it has one.
func (s *Server) EnsureProfile(igsid string, p UserProfile) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.profiles[igsid]; !ok {
		s.profiles[igsid] = p
	}
}

// SetFollows records whether igsid follows the account (what
// is_user_follow_business answers), keeping the rest of its profile; a
// user without one gets a profile with its id as username.
func (s *Server) SetFollows(igsid string, follows bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.profiles[igsid]
	if !ok {
		p.Username = igsid
	}
	p.FollowsBusiness = &follows
	s.profiles[igsid] = p
}

// IssueToken mints a long-lived token for account, issued at the double's
// current time and valid for 60 days.
func (s *Server) IssueToken(account string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mintLocked(account, true, "")
}

// RevokeToken makes token invalid (error 190 from now on).
func (s *Server) RevokeToken(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tokens, tok)
	if s.cfg.AccessTokens != nil {
		delete(s.cfg.AccessTokens, tok)
	}
}

// MessengerProfile returns the account's messenger_profile fields
// (ice_breakers, persistent_menu) as last set.
func (s *Server) MessengerProfile(account string) map[string]json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]json.RawMessage{}
	for k, v := range s.msgrProf[account] {
		out[k] = v
	}
	return out
}

// SubscribedFields returns the webhook fields enabled for the account via
// subscribed_apps.
func (s *Server) SubscribedFields(account string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.subFields[account]...)
}

func (s *Server) now() time.Time { return s.cfg.Now() }

// mintLocked creates a token; s.mu must be held.
func (s *Server) mintLocked(account string, long bool, prefix string) string {
	s.seq++
	if prefix == "" {
		prefix = "IGAA"
	}
	tok := fmt.Sprintf("%stest%06d%s", prefix, s.seq, randHex(s.rng, 8))
	life := time.Hour
	if long {
		life = 60 * 24 * time.Hour
	}
	now := s.now()
	s.tokens[tok] = &token{account: account, issued: now, expires: now.Add(life), long: long}
	return tok
}

func randHex(r *rand.Rand, n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[r.IntN(16)]
	}
	return string(b)
}

// newMIDLocked returns a realistic message id; s.mu must be held.
func (s *Server) newMIDLocked(account string) string {
	s.seq++
	raw := fmt.Sprintf("ig_message_item:1:IGMessageData:%s:%d%s", account, s.seq, randHex(s.rng, 12))
	return "aWdf" + base64.RawURLEncoding.EncodeToString([]byte(raw))
}

var versionPrefix = regexp.MustCompile(`^/v\d+\.\d+(/|$)`)

// ServeHTTP routes Graph API, OAuth and profile requests.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.calls++
	s.mu.Unlock()
	if s.applyFault(w, r) {
		return
	}
	s.route(w, r)
}

func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	path, versioned := r.URL.Path, false
	if loc := versionPrefix.FindStringIndex(path); loc != nil {
		version := strings.Trim(path[:loc[1]], "/")
		if s.cfg.Version != "" && version != s.cfg.Version {
			writeError(w, 400, apiErr{Code: 2635, Message: "(#2635) You are calling a deprecated or unknown version " + version})
			return
		}
		path, versioned = "/"+path[loc[1]:], true
	}
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case path == "/oauth/authorize":
		s.authorize(w, r)
	case path == "/oauth/access_token" && r.Method == http.MethodPost:
		s.exchangeCode(w, r)
	case path == "/access_token" && !versioned:
		s.exchangeLong(w, r)
	case path == "/refresh_access_token" && !versioned:
		s.refresh(w, r)
	case len(parts) == 2 && parts[1] == "messages" && r.Method == http.MethodPost:
		s.send(w, r, parts[0])
	case len(parts) == 2 && parts[1] == "messenger_profile":
		s.messengerProfile(w, r, parts[0])
	case len(parts) == 2 && parts[1] == "subscribed_apps":
		s.subscribedApps(w, r, parts[0])
	case len(parts) == 2 && r.Method == http.MethodPost && threadOps[parts[1]] != "":
		s.threadCall(w, r, parts[0], threadOps[parts[1]])
	case len(parts) == 2 && parts[1] == "welcome_message_flows" && r.Method == http.MethodPost:
		s.welcomeFlows(w, r, parts[0])
	case len(parts) == 2 && parts[1] == "replies" && r.Method == http.MethodPost:
		s.commentCall(w, r, parts[0], "reply")
	case len(parts) == 1 && parts[0] != "" && parts[0] != "me" && r.Method == http.MethodPost:
		s.commentCall(w, r, parts[0], "moderate")
	case len(parts) == 1 && parts[0] != "" && parts[0] != "me" && r.Method == http.MethodDelete:
		s.commentCall(w, r, parts[0], "delete")
	case len(parts) == 1 && parts[0] == "me" && r.Method == http.MethodGet:
		s.me(w, r)
	case len(parts) == 1 && parts[0] != "" && r.Method == http.MethodGet:
		s.mu.Lock()
		m, isMedia := s.mediaLocked(parts[0])
		s.mu.Unlock()
		if isMedia {
			s.getMedia(w, r, m)
			return
		}
		s.userProfile(w, r, parts[0])
	default:
		writeError(w, 400, apiErr{Code: 100, Subcode: 33, Message: "Unsupported " + strings.ToLower(r.Method) + " request."})
	}
}

// threadOps maps the thread-control edges to their operation.
var threadOps = map[string]string{"pass_thread_control": "pass", "take_thread_control": "take",
	"release_thread_control": "release", "request_thread_control": "request"}

// apiErr is a Graph API error as the double renders it.
type apiErr struct {
	Code, Subcode int
	Type          string
	Message       string
	Transient     bool
}

func writeError(w http.ResponseWriter, status int, e apiErr) {
	if e.Type == "" {
		e.Type = "OAuthException"
	}
	body := map[string]any{
		"message": e.Message, "type": e.Type, "code": e.Code,
		"is_transient": e.Transient, "fbtrace_id": "AigtestTrace" + fmt.Sprint(time.Now().UnixNano()%1e9),
	}
	if e.Subcode != 0 {
		body["error_subcode"] = e.Subcode
	}
	writeJSON(w, status, map[string]any{"error": body})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// authAccount resolves the request's token (Bearer header or access_token
// parameter) to the account it speaks for.
func (s *Server) authAccount(r *http.Request) (string, *apiErr) {
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if tok == "" {
		tok = r.URL.Query().Get("access_token")
	}
	if tok == "" {
		return "", &apiErr{Code: 190, Message: "An active access token must be used to query information about the current user."}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.tokens[tok]; ok {
		if s.now().After(t.expires) {
			return "", &apiErr{Code: 190, Subcode: 463, Message: "Error validating access token: Session has expired."}
		}
		return t.account, nil
	}
	if s.cfg.AccessTokens == nil {
		return s.cfg.Account, nil
	}
	if acct, ok := s.cfg.AccessTokens[tok]; ok {
		return acct, nil
	}
	return "", &apiErr{Code: 190, Message: "Invalid OAuth access token - Cannot parse access token"}
}

// node resolves a path id ("me" or an IG_ID) against the token's account.
func (s *Server) node(w http.ResponseWriter, r *http.Request, id string) (string, bool) {
	acct, e := s.authAccount(r)
	if e != nil {
		writeError(w, 400, *e)
		return "", false
	}
	if id != "me" && id != acct && s.cfg.AnyAccount {
		return id, true
	}
	if id != "me" && id != acct {
		writeError(w, 400, apiErr{Code: 100, Subcode: 33, Message: "Unsupported post request. Object with ID '" + id + "' does not exist, cannot be loaded due to missing permissions, or does not support this operation."})
		return "", false
	}
	return acct, true
}
