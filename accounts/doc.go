// Package accounts serves several Instagram business accounts from one
// deployment, each with its own flow bundle and settings.
//
// A Set maps account ids (the IG_ID of the webhook's entry.id, which every
// event carries as Event.Account) to engines built from that account's
// bundle, plus an optional Default engine for accounts without their own.
// The Set is itself an engine (bot.Engine): its Step looks the engine up by
// the event's account, so the bot pipeline (and with it admin replay and the
// sandbox studio) needs no other change; the sandbox shows the bundle of
// the account it plays.
//
// Reload reloads one account, several or all. An account whose new bundle
// fails to load keeps serving its old bundle; the others are replaced. The
// Result says which accounts were reloaded and why the others were not.
//
// Where the bundles come from is a Source: DirLayout reads a --flows
// directory with one sub-directory per account id and an optional
// default/; the config file's accounts: section builds the same mapping.
// Settings are the per-account overrides (action secrets, outgoing webhook,
// handoff release) layered over the deployment's defaults.
package accounts
