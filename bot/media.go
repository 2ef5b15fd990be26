package bot

import (
	"context"

	"github.com/dmflow/dmflow"
)

// MediaLookup tells the caption and permalink of one of the account's
// posts or reels. *instagram.Client implements it, with its own cache.
type MediaLookup interface {
	MediaCaption(ctx context.Context, account, mediaID string) (caption, permalink string, err error)
}

// MediaAsker is implemented by engines (engine.Engine) whose flows may ask
// for the commented media (`lookup_media: true`).
type MediaAsker interface {
	LooksUpMedia() bool
}

// withMedia returns the event the engine steps: ev itself, or for a
// comment on media when a flow asks, a copy whose Comment carries the
// media's caption and permalink. *cache holds the result across conflict
// retries. A failed lookup is logged; the event goes on without.
func (b *Bot) withMedia(ctx context.Context, ev *dmflow.Event, cache **dmflow.Comment) *dmflow.Event {
	if b.cfg.Media == nil || ev.Kind != dmflow.KindComment || ev.Comment == nil || ev.Comment.MediaID == "" {
		return ev
	}
	if a, ok := b.Engine().(MediaAsker); !ok || !a.LooksUpMedia() {
		return ev
	}
	if *cache == nil {
		lctx, cancel := context.WithTimeout(ctx, b.cfg.ProfileTimeout)
		caption, link, err := b.cfg.Media.MediaCaption(lctx, ev.Account, ev.Comment.MediaID)
		cancel()
		if err != nil {
			b.log.Warn("media lookup failed, going on without it", "media", ev.Comment.MediaID, "err", err)
			return ev
		}
		c := *ev.Comment
		c.Caption, c.Permalink = caption, link
		*cache = &c
	}
	out := *ev
	out.Comment = *cache
	return &out
}
