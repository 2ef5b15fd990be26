// Package messenger is dmflow's Facebook Messenger channel: the webhook
// (subscription handshake, X-Hub-Signature-256 check, parsing of
// `object: "page"` deliveries into dmflow.Event with Channel "messenger")
// and the Send API client (a dmflow.Sender with typed error classes).
// messengertest is its Graph API double. Both halves pass
// adapters/adaptertest, like adapters/instagram.
//
// Sessions: Account is the Page id (entry.id), User the page-scoped id
// (PSID). Instagram accounts and users are different ids, so a person who
// writes on both channels has two conversations.
//
// # Platform facts (verified 2026-12-05)
//
// Webhooks [WH] [EV]:
//   - Deliveries are POSTs with object "page" and entry[].messaging[] (or
//     standby[] while another app owns the thread [HO]); fields messages,
//     message_deliveries, message_echoes, message_edits, message_reactions,
//     message_reads, messaging_postbacks, messaging_referrals,
//     messaging_optins, messaging_handovers, standby.
//   - read carries only a watermark (every message before it was read)
//     [READ]; delivery has a watermark and, not always, mids [DLV].
//   - Echoes are is_echo messages from the Page to the PSID, with app_id
//     and the sender's metadata [ECHO].
//   - reaction: reaction (smile|angry|sad|wow|love|like|dislike|other),
//     emoji, action react|unreact, mid [REACT].
//   - postback: mid, title, payload and, when the thread began from an
//     m.me link, ad or QR code, referral {ref, source, type}; the reference
//     sample shows it as a {field, value} change with a string timestamp in
//     seconds, which Parse also accepts [PB]. referral inside an existing
//     thread: ref, source (SHORTLINK, ADS), type OPEN_THREAD, ad_id,
//     ads_context_data [REF].
//   - optin: type notification_messages, payload, token and status [OPT].
//   - handover: pass_thread_control {previous_owner_app_id,
//     new_owner_app_id, metadata}, take_thread_control,
//     request_thread_control [HO].
//   - Signatures: HMAC-SHA256 of the raw body with the app secret in
//     X-Hub-Signature-256 (shared with Instagram: internal/metahook).
//
// Send API [SEND] [PM]:
//   - POST /{PAGE-ID}/messages with a Page access token; recipient.id is
//     the PSID; messaging_type RESPONSE, UPDATE or MESSAGE_TAG (with tag,
//     e.g. HUMAN_AGENT); text is UTF-8, under 2000 characters; metadata
//     under 1000; sender_action typing_on, typing_off, mark_seen.
//   - Quick replies: at most 13 [QR]; postback button title 20 and payload
//     1000 characters [PBB]; button template text up to 640 characters and
//     1-3 buttons [BT]; generic template up to 10 elements, title and
//     subtitle 80 characters, up to 3 buttons [GT].
//   - Errors [ERR] [PM]: 1/1357046 may have delivered (ambiguous); 2, 4,
//     17, 32, 613 and 80006 are throttling or temporary (retryable); 10 /
//     2018278 is outside the window; 100 / 2018001 no matching user; 551
//     the person is not available; 190 a bad token; 200-299 permissions;
//     368 a policy block (all permanent).
//   - Rate limits [RL]: per Page, 300 Send API calls per second for text,
//     links, reactions and stickers, 10 per second for audio or video; a
//     single thread may be limited when sent too many messages. The
//     Client paces each Page at these rates (RateLimits; internal/pace,
//     shared with the Instagram client), across replicas when a
//     dmflow.Pacer is configured.
//   - Messenger Profile API [MP]: POST /me/messenger_profile (or
//     /{PAGE-ID}/) with a Page token (pages_messaging) sets get_started
//     {payload}, greeting [{locale, text}] (a default locale required,
//     text up to 160 characters, {{user_first_name}} allowed [GRT]),
//     ice_breakers [{locale, call_to_actions: [{question, payload}]}] (at
//     most 4 questions; shown instead of the Get Started button when both
//     are set [IB]) and persistent_menu [{locale, call_to_actions}] (up to
//     20 postback or web_url buttons, flat; shown only with a Get Started
//     button [MENU]); GET with fields=... reads them back. 10 calls per
//     10 minutes per Page [GRT]: Client.SetProfile sends one request.
//
// Sources:
//
//	[WH]    https://developers.facebook.com/docs/messenger-platform/reference/webhook-events
//	[EV]    https://developers.facebook.com/documentation/business-messaging/messenger-platform/webhooks/webhook-events
//	[READ]  https://developers.facebook.com/documentation/business-messaging/messenger-platform/webhooks/webhook-events/message-reads
//	[DLV]   https://developers.facebook.com/documentation/business-messaging/messenger-platform/webhooks/webhook-events/message-deliveries
//	[ECHO]  https://developers.facebook.com/documentation/business-messaging/messenger-platform/webhooks/webhook-events/message-echoes
//	[REACT] https://developers.facebook.com/documentation/business-messaging/messenger-platform/webhooks/webhook-events/message-reactions
//	[PB]    https://developers.facebook.com/documentation/business-messaging/messenger-platform/webhooks/webhook-events/messaging_postbacks
//	[REF]   https://developers.facebook.com/documentation/business-messaging/messenger-platform/webhooks/webhook-events/messaging_referrals
//	[OPT]   https://developers.facebook.com/documentation/business-messaging/messenger-platform/webhooks/webhook-events/messaging_optins
//	[HO]    https://developers.facebook.com/documentation/business-messaging/messenger-platform/webhooks/webhook-events/messaging_handovers
//	[SEND]  https://developers.facebook.com/docs/messenger-platform/reference/send-api
//	[PM]    https://developers.secure.facebook.com/docs/graph-api/reference/page/messages
//	[QR]    https://developers.facebook.com/documentation/business-messaging/messenger-platform/send-messages/quick-replies
//	[PBB]   https://developers.facebook.com/documentation/business-messaging/messenger-platform/send-messages/buttons/postback
//	[BT]    https://developers.facebook.com/documentation/business-messaging/messenger-platform/send-messages/template/button
//	[GT]    https://developers.facebook.com/documentation/business-messaging/messenger-platform/send-messages/template/generic
//	[ERR]   https://developers.facebook.com/docs/messenger-platform/error-codes
//	[MP]    https://developers.facebook.com/documentation/business-messaging/messenger-platform/reference/messenger-profile-api
//	[GRT]   https://developers.facebook.com/docs/messenger-platform/reference/messenger-profile-api/greeting
//	[IB]    https://developers.facebook.com/documentation/business-messaging/messenger-platform/reference/messenger-profile-api/ice-breakers
//	[MENU]  https://developers.facebook.com/documentation/business-messaging/messenger-platform/send-messages/persistent-menu
//	[RL]    https://developers.facebook.com/documentation/business-messaging/messenger-platform/overview/rate-limiting (updated 2026-03-23)
//
// # Caveats
//
//   - `dmflow messenger setup` applies a Profile (cli); nothing resets the
//     parts a profile leaves out (DELETE messenger_profile is not used).
//   - Pacing covers the per-second Send API rates only: the daily budget
//     (200 calls × engaged people per 24 h [RL]) and per-thread limits are
//     met by the outbox retrying throttle errors with their RetryAfter.
//   - Not yet: the User Profile API, user_ref recipients (items without a
//     PSID are skipped), private replies to Page comments.
//   - Text is limited in characters here but in bytes on Instagram; each
//     sender splits long text by its own rule.
package messenger
