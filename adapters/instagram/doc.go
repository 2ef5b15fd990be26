// Package instagram connects dmflow to Instagram through the Instagram API
// with Instagram Login (graph.instagram.com): webhooks in, the Send API out,
// and the OAuth flow and tokens in between.
//
// # Webhooks
//
// NewWebhook returns the callback endpoint. A GET answers Meta's
// subscription handshake. A POST is read raw (up to WebhookConfig.MaxBody),
// its X-Hub-Signature-256 is checked in constant time against every
// configured secret before anything is parsed, and Parse normalizes the
// batch into dmflow.Events: messages (text, attachments, quick replies,
// inline and story replies, ad referrals), postbacks, reactions, reads,
// referrals, edits, deletes, unsupported messages, opt-ins, handovers,
// standby deliveries, echoes and comments. Every event has a stable Key, so
// Meta's redeliveries are recognised as duplicates by the inbox. The handler
// answers 200 only once the sink made the events durable.
//
// # Sending
//
// Client implements dmflow.Sender on POST /{ig_id}/messages. It encodes
// every dmflow.Reply kind, splits text above 1000 UTF-8 bytes, refuses
// replies outside the messaging window without calling Graph, queues sends
// behind per-account rate limiters, retries retryable Graph errors with
// backoff and honours the usage headers. Errors are *APIError values
// classified by code and subcode into Retryable, Permanent and Ambiguous,
// wrapping the matching dmflow sentinel. Client also reads profiles (cached),
// sets ice breakers and the persistent menu, and manages subscribed_apps.
//
// # Comments: public replies and moderation
//
// A flow answers a comment event in public (dmflow.ReplyCommentReply) or
// hides, unhides or deletes it (dmflow.ReplyModerate). Client.Send performs
// them through the same outbox as messages, so they are retried and
// dead-lettered like sends; no messaging window applies. What was checked
// against Meta's documentation, and where (read 2026-12-05; Meta's pages
// "Updated" up to Jun 2026):
//
//   - Endpoints, host graph.instagram.com with an Instagram User token:
//     POST /{ig-comment-id}/replies with message (answer {"id"}),
//     POST /{ig-comment-id} with hide=true|false, DELETE /{ig-comment-id}
//     (answer {"success": true}); also GET /{ig-media-id}/comments,
//     GET /{ig-comment-id}/replies and POST /{ig-media-id} (enable or
//     disable comments), not used. Source: "Comment Moderation",
//     developers.facebook.com/docs/instagram-platform/comment-moderation
//     and .../instagram-api-with-instagram-login/comment-moderation.
//   - Permissions: instagram_business_basic and
//     instagram_business_manage_comments (Advanced Access when serving
//     accounts you do not own), webhooks comments and live_comments; the
//     commenter's username needs instagram_business_manage_comments since
//     27 Aug 2024. Same source, and "Instagram (IG) Comment",
//     .../instagram-graph-api/reference/ig-comment.
//   - Limits of a public reply: only top-level comments take replies (a
//     reply to a reply is added to the top-level comment); hidden comments
//     take none; comments on a live video take none ("use the Instagram
//     Messaging API to send a private reply instead"). Source: "IG Comment
//     Replies", .../instagram-graph-api/reference/ig-comment/replies. The
//     engine drops (and traces) a public reply to a live comment.
//   - Text length: Meta's reference states none; 2,200 characters
//     (dmflow.MaxCommentLen, Instagram's caption and comment limit) is what
//     third-party APIs document (green-api SendComment: "maximum length is
//     2200 characters") [third party]. A comment by the account itself on
//     its own media cannot be hidden [third party, several API wrappers].
//   - Rate limits: comment calls are not messaging calls; they count against
//     the Business Use Case limit (calls per 24 h = 4800 × impressions),
//     "Instagram Platform Overview" rate limiting, and are throttled by the
//     usage headers, not by RateLimits.
//   - Errors: not documented per call; Graph's general classification
//     applies (/docs/graph-api/guides/error-handling): 200 (permission,
//     e.g. manage_comments not granted) and 100 (100/33 for a deleted or
//     unknown comment, invalid parameters) are permanent, 4/17/32/613/80002
//     throttling and 1/2 temporary. The exact code for "hidden comment" is
//     not documented; igtest answers 100 [inferred].
//   - Private replies (recipient.comment_id on /messages): one per comment,
//     within 7 days of the comment (Live: during the broadcast), landing in
//     Inbox for followers and Requests otherwise; they do not open the
//     24-hour window. Source: "Send a Private Reply to a Commenter",
//     .../instagram-platform/private-replies (Updated Jun 30, 2026).
//
// igtest.Server enforces the same rules and answers the same errors.
//
// # Profiles (follow-gating)
//
// Client.Profile asks GET /{igsid}?fields=name,username,profile_pic,
// follower_count,is_user_follow_business,is_business_follow_user,
// is_verified_user. Source: "Instagram User Profile API"
// (.../instagram-api-with-instagram-login/messaging-api/user-profile) and
// the Messenger-flavour "User Profile API" page (Updated Apr 1, 2026),
// which lists is_verified_user, follower_count, is_user_follow_business and
// is_business_follow_user for v12.0+, and says: consent exists only after
// the person sent a message, or clicked an ice breaker or the persistent
// menu (a commenter who never wrote gets "User consent is required to
// access user profile", code 230 in practice [third party]); name and
// profile_pic can be null; the profile_pic URL expires after a few days; a
// user who blocked the business cannot be read. Permissions
// instagram_business_basic and instagram_business_manage_messages. Fields
// left out stay nil (unknown); igtest answers error 100 for a field the
// API does not have, and 230 without a profile.
//
// # Routing to people (conversation routing, handover)
//
// A flow's handoff with inbox: true becomes a dmflow.ReplyThreadControl
// (pass) in the outbox, after the state's messages; ending such a handoff
// from the bot's side queues a take. Client.Send performs them as
// POST /{ig_id}/{pass,take,release,request}_thread_control with
// {"recipient": {"id": IGSID}, "target_app_id": ..., "metadata": ...},
// logged like every call (method, path, status, code, fbtrace_id; never
// the token), retried and dead-lettered like sends; no window applies.
// What was checked (read 2026-12-05):
//
//   - Meta no longer supports the Handover Protocol for Instagram: every
//     business was migrated to Conversation Routing, which keeps most of
//     the Handover Protocol calls working. Source: "Conversation
//     Routing for Instagram", developers.facebook.com/docs/
//     messenger-platform/instagram/features/conversation-routing.
//   - The calls: pass, release, take (the primary/default app only),
//     extend, request (default behaviour only), the thread owner, and
//     whether routing is configured; the Send API also takes a
//     thread_control {app_id, control_type: pass|release} beside a message,
//     but only where conversation routing is enabled; a pass
//     without app_id goes to the default app. Source: "Conversation
//     Control APIs", developers.facebook.com/documentation/
//     business-messaging/instagram-messaging/features/conversation-routing/
//     apis (Updated Jul 2, 2026). dmflow uses the dedicated edges, which
//     need no message.
//   - Inbox app ids: target_app_id 263902037430900 is the Page inbox and
//     1217981644879628 the Instagram inbox (InstagramInboxApp, the default
//     of ClientConfig.InboxAppID). Source: "Handover Protocol API
//     Reference", developers.facebook.com/docs/messenger-platform/
//     reference/handover-protocol. Answer of the edges: {"success": true}.
//   - Errors of take_thread_control: 551 (person not available), 100
//     (invalid parameter), 200 (permissions), 613 (rate limit), 190
//     (token), 230, 210. Source: "Page Take Thread Control",
//     developers.facebook.com/docs/graph-api/reference/page/
//     take_thread_control. "(#27) Take thread control is not supported
//     when Conversation Routing is not enabled" is quoted by a third party
//     (postproxy's thread-control tool) [third party]. The error for a
//     message sent while another app owns the thread is not documented;
//     igtest answers 100 [inferred].
//   - Webhooks: pass_thread_control goes to the app that receives the
//     thread ("Pass Thread Control" reference, developers.facebook.com/
//     docs/messenger-platform/reference/handover-protocol/
//     pass-thread-control), take_thread_control to the app that lost it
//     ("Take Thread Control", .../messenger-platform/handover-protocol/
//     take-thread-control); messages for a thread the
//     app does not own arrive in entry[].standby[] ("standby Webhook Event
//     Reference", .../messenger-platform/webhooks/webhook-events/standby;
//     the Instagram messaging webhook fields describe standby as messages
//     arriving while the app does not control the conversation,
//     .../business-messaging/instagram-messaging/webhooks). The engine
//     reads a pass as "the thread is back" and a take or a standby message
//     as "another app owns it".
//   - Not verified: all of the above is documented for the Messenger
//     Platform's Instagram messaging (graph.facebook.com, Page tokens).
//     Whether graph.instagram.com accepts the thread-control edges with
//     Instagram User tokens, and whether Instagram-Login apps receive the
//     messaging_handover and standby webhooks, is not stated on the
//     Instagram Login pages read ("Instagram webhook fields and
//     permissions", .../instagram-platform/webhooks/fields, Updated Oct 28,
//     2026, lists neither field for Unified Login); searched again
//     2026-12-05, no Instagram-Login page documents them. A refusal is a
//     permanent error: the outbox dead-letters it at once with Meta's
//     error (logged, counted, a reply.failed notice where notices are
//     configured), never a crash. The
//     handoff itself does not depend on the call: the engine hands the
//     session off before the pass is queued, so the bot stays silent and
//     an operator answers (admin send, or the Instagram app, whose echo
//     pauses the bot) whether or not Meta moved the thread; a take that is
//     refused on release does not keep the bot silent. igtest's
//     Config.NoThreadControl refuses every edge with (#100)/33, Graph's
//     answer for an operation a node does not support [inferred: the
//     actual answer of graph.instagram.com is not documented].
//
// # Media (posts and reels)
//
// Client.Media reads GET /{ig-media-id}?fields=id,caption,permalink,
// media_type,media_product_type and caches the answer (ProfileTTL). Source:
// "IG Media" reference, developers.facebook.com/docs/instagram-platform/
// reference/instagram-media: host graph.instagram.com with an Instagram
// User token and instagram_business_basic; only media the professional
// account owns; the caption omits "@" unless the app user can act as an
// admin; permalink is missing for album children; live media is readable
// only during the broadcast.
//
// # Marketing messages and welcome message flows
//
//   - Marketing (notification) messages outside the window: the
//     opt-in-token feature ("Marketing Messages", formerly Recurring
//     Notifications, developers.facebook.com/docs/messenger-platform/
//     marketing-messages) is a Messenger Platform feature for Pages (and
//     Instagram accounts through a Page) and "will be deprecated on
//     January 12, 2026"; its successor, the "Marketing Message API for
//     Messenger" (.../business-messaging/messenger-platform/
//     marketing-messages-on-messenger, Updated Apr 17, 2026), is for
//     Messenger only, for tech providers approved for ads_management,
//     pages_messaging and paid_marketing_messages. The Instagram Login
//     permissions (instagram_business_*) include none of these, and the
//     Instagram Login messaging pages document no opt-in token. So a flow
//     cannot message outside the 24-hour window except a person's
//     HUMAN_AGENT reply (7 days) and a private reply (7 days after the
//     comment); `dmflow validate` rejects timeouts that would (alone or
//     chained), tested by cli's TestValidate "outside the window".
//     messaging_optins events are still parsed (KindOptin) and reach
//     triggers.
//   - Welcome message flows for Click-to-Instagram-Direct ads exist for
//     Instagram Login apps: POST /me/welcome_message_flows on
//     graph.instagram.com with eligible_platforms ["instagram"], name and
//     welcome_message_flow (messages with text and quick_replies);
//     permissions instagram_business_basic and
//     instagram_business_manage_messages; without a linked Facebook Page
//     they are available only through Boost ads. Source: "Welcome Message
//     Flows", .../instagram-api-with-instagram-login/welcome-message-ads
//     (Updated Jun 30, 2026). Updating is a POST with flow_id (answer
//     {"success": true}); a create answers {"flow_id"} ("Welcome message
//     flows", .../business-messaging/messenger-platform/ads/
//     ads-welcome-message-flows, Updated Mar 15, 2026, which also names the
//     is_used_in_ad field). Client.SetWelcomeFlow creates or updates one
//     (text and quick replies, checked against the Send API's limits
//     first); igtest stores them and refuses platforms other than
//     instagram. Listing and deleting on graph.instagram.com were not
//     found in the pages read. The referral of the resulting conversation
//     is parsed and routed (flows `entry:`); `dmflow instagram setup` applies
//     instagram.welcome_message_flows from the configuration.
//
// # OAuth and tokens
//
// OAuth implements Business Login for Instagram: AuthorizeURL, LoginHandler
// and CallbackHandler (CSRF state in a cookie), the code exchange, long-lived
// tokens, refresh and /me. TokenManager keeps tokens in a dmflow.Tokens
// store, refreshes them before they expire and reports failures loudly;
// StaticToken serves a token generated in the App Dashboard.
//
// # Setting up the Meta side
//
// 1. Create an app at developers.facebook.com of the Business type and add
// the Instagram product, choosing "API setup with Instagram login". That
// page shows the Instagram app ID and app secret: they are the OAuth client
// id and secret, and the secret also signs webhooks (some deliveries have
// been seen signed with the Meta app secret instead, so dmflow accepts
// either: configure both).
//
// 2. Under "Configure webhooks" enter the callback URL (dmflow serves it at
// /webhook/instagram; it must be public HTTPS with a valid certificate) and
// a verify token of your choice, the same as WebhookConfig.VerifyToken.
// Meta calls the URL at once to verify it. Then subscribe the fields:
// messages (echoes included), messaging_postbacks, messaging_seen,
// message_reactions, messaging_referral, messaging_optins,
// messaging_handover and standby; comments and live_comments for comment
// flows.
//
// 3. Under "Set up Instagram business login" register the redirect URI
// exactly as OAuth.RedirectURI spells it. Connect each professional account
// through the login flow (or generate a token in the dashboard for a single
// account). After connecting, dmflow must call Subscribe for the account
// (POST /me/subscribed_apps): choosing fields in the dashboard alone
// delivers nothing. SubscribedApps checks it later; Meta unsubscribes an
// account whose webhook has failed for about an hour.
//
// 4. In the Instagram app, the account's setting "Messages and story
// replies > Connected tools > Allow access to messages" must be on.
//
// 5. App Review: in development mode only people with a role on the app
// (admins, developers, testers) produce webhooks and can receive messages.
// To serve everyone, request Advanced Access to instagram_business_basic
// and instagram_business_manage_messages (plus
// instagram_business_manage_comments for comments and private replies),
// complete Business Verification and switch the app to Live. The
// HUMAN_AGENT tag needs its own feature approval.
//
// # Caveats
//
//   - Meta does not document which secret signs Instagram-Login webhooks;
//     configure the Instagram app secret and, if in doubt, the Meta app
//     secret too. The legacy sha1 header is accepted only with AllowSHA1.
//   - A missing signature is answered 401, a wrong one 403; neither is
//     logged with the body.
//   - Bodies whose object is not "instagram" produce no events (200), and
//     unknown event kinds and change fields are skipped, so a new platform
//     feature never makes Meta redeliver forever.
//   - A message_edit with num_edit 0 is treated as the message itself (Key
//     "m:<mid>"), as development mode has been seen to deliver new messages
//     that way.
//   - Comment events carry entry.time, which is in seconds, so a comment
//     and a message of the same user in one batch are ordered at
//     one-second precision.
//   - Outgoing.LastInbound zero means "unknown": the window is then left to
//     the platform (error 10/2534022, permanent). Within 24 hours the
//     HUMAN_AGENT tag is dropped, as it is not needed there.
//   - The Send API has no idempotency key. A connection reset, EOF or
//     timeout is retried (in the call, then by the caller's outbox), also
//     after the request was written: Meta may have processed it, so such a
//     retry can deliver the message twice (delivery is at least once). This
//     is rare and counted: the failed call is logged with written=true, and
//     the bot counts retries (dmflow_deliveries_total{result="retried"}).
//     Failures that say the message may have arrived are ErrAmbiguous and
//     not retried: error 1/1357046, a 200 whose answer cannot be read, and
//     a reply split into several requests that fails after the first part.
//   - Rate limiters live in the process unless ClientConfig.Pacer is set
//     (a store shared by replicas, e.g. store/postgres): then the replicas
//     pace each account together, at RateLimits less Headroom.
//   - Error 190 and a NeedsReauth token are permanent: replies are
//     dead-lettered until the account is connected again.
//   - ParseSignedRequest follows Meta's "Data Deletion Request Callback"
//     page (developers.facebook.com/docs/development/create-an-app/
//     app-dashboard/data-deletion-callback), which the deauthorize
//     callback shares: a form field signed_request = base64url(signature)
//     "." base64url(JSON payload), the signature being HMAC-SHA256 of the
//     payload part as sent, keyed with the app secret; the payload carries
//     algorithm ("HMAC-SHA256"), issued_at, expires and user_id (a string,
//     sometimes a number). The deletion callback must answer
//     {"url": ..., "confirmation_code": ...}. The user_id is app-scoped:
//     with Instagram business login it names the business account that
//     removed the app (dmflow.Token.AppUserID), never a DM customer.
package instagram
