package instagram

import (
	"context"
	"fmt"
	"net/url"
	"sync"
	"time"
)

// Media is what Graph tells about one of the account's posts or reels
// (see doc.go, "Media"). Caption and Permalink may be empty.
type Media struct {
	ID          string `json:"id"`
	Caption     string `json:"caption,omitempty"`
	Permalink   string `json:"permalink,omitempty"`
	MediaType   string `json:"media_type,omitempty"`         // IMAGE, VIDEO, CAROUSEL_ALBUM
	ProductType string `json:"media_product_type,omitempty"` // FEED, REELS, STORY, AD
	// Fetched is when Graph answered.
	Fetched time.Time `json:"-"`
}

// mediaFields are the IG Media fields Media asks for.
const mediaFields = "id,caption,permalink,media_type,media_product_type"

// maxMedia bounds the media cache.
const maxMedia = 10000

type mediaCache struct {
	mu sync.Mutex
	m  map[profileKey]Media
}

// Media reads one of account's media by id: an explicit lookup, cached for
// ProfileTTL (a caption rarely changes; comment flows on one reel ask for
// the same id again and again).
func (c *Client) Media(ctx context.Context, account, mediaID string) (Media, error) {
	if mediaID == "" {
		return Media{}, fmt.Errorf("instagram: media: empty id")
	}
	key := profileKey{account, mediaID}
	now := c.cfg.Clock()
	c.media.mu.Lock()
	m, ok := c.media.m[key]
	c.media.mu.Unlock()
	if ok && now.Sub(m.Fetched) < c.cfg.ProfileTTL {
		return m, nil
	}
	var out Media
	u := c.cfg.BaseURL + "/" + c.cfg.Version + "/" + url.PathEscape(mediaID) + "?fields=" + mediaFields
	if err := c.get(ctx, account, u, &out); err != nil {
		return Media{}, fmt.Errorf("instagram: media %s: %w", mediaID, err)
	}
	if out.ID == "" {
		out.ID = mediaID
	}
	out.Fetched = now
	c.media.mu.Lock()
	if c.media.m == nil {
		c.media.m = map[profileKey]Media{}
	}
	if len(c.media.m) >= maxMedia {
		for k := range c.media.m { // evict an arbitrary entry
			delete(c.media.m, k)
			break
		}
	}
	c.media.m[key] = out
	c.media.mu.Unlock()
	return out, nil
}

// MediaCaption returns the caption and permalink of one of account's media
// (Media, cached); it implements bot.MediaLookup.
func (c *Client) MediaCaption(ctx context.Context, account, mediaID string) (caption, permalink string, err error) {
	m, err := c.Media(ctx, account, mediaID)
	return m.Caption, m.Permalink, err
}
