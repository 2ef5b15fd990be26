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
// media's caption and permalink. A failed lookup is logged; the event goes
// on without. The lookup runs off the worker within ProfileTimeout:
// errParked means it is still running (see lookups); l holds its result
// across parking and conflict retries.
func (b *Bot) withMedia(ctx context.Context, ev *dmflow.Event, l *lookups) (*dmflow.Event, error) {
	if b.cfg.Media == nil || ev.Kind != dmflow.KindComment || ev.Comment == nil || ev.Comment.MediaID == "" {
		return ev, nil
	}
	if a, ok := b.Engine().(MediaAsker); !ok || !a.LooksUpMedia() {
		return ev, nil
	}
	if !l.mediaDone {
		account, comment := ev.Account, *ev.Comment
		if !l.await(func() {
			lctx, cancel := context.WithTimeout(ctx, b.cfg.ProfileTimeout)
			caption, link, err := b.cfg.Media.MediaCaption(lctx, account, comment.MediaID)
			cancel()
			if err != nil {
				b.log.Warn("media lookup failed, going on without it", "account", account, "media", comment.MediaID, "err", err)
				return
			}
			comment.Caption, comment.Permalink = caption, link
			l.media = &comment
		}) {
			return nil, errParked
		}
		l.mediaDone = true
	}
	if l.media == nil {
		return ev, nil
	}
	out := *ev
	out.Comment = l.media
	return &out, nil
}
