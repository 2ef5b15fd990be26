package instagram_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/adapters/instagram"
)

const (
	acct = "17841400000000001"
	user = "6543210987654321"
)

var (
	at      = time.UnixMilli(1733000000123).UTC()
	entryAt = time.Unix(1733000000, 0).UTC()
)

// msg is the common shape of an inbound event in testdata.
func msg(kind dmflow.EventKind, key, mid string) dmflow.Event {
	return dmflow.Event{Key: key, Kind: kind, Channel: "instagram", Account: acct, User: user, Time: at, MID: mid}
}

func with(e dmflow.Event, f func(*dmflow.Event)) dmflow.Event { f(&e); return e }

func attachment(typ, url, title, id string) func(*dmflow.Event) {
	return func(e *dmflow.Event) {
		e.Attachments = []dmflow.Attachment{{Type: typ, URL: url, Title: title, ID: id}}
	}
}

func TestParseTestdata(t *testing.T) {
	cdn := "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id="
	comment := func(key, id string, f func(*dmflow.Event)) dmflow.Event {
		e := dmflow.Event{Key: key, Kind: dmflow.KindComment, Channel: "instagram", Account: acct, User: user, Time: entryAt}
		e.Comment = &dmflow.Comment{ID: id, Username: "jane.doe"}
		f(&e)
		return e
	}
	tests := []struct {
		file string
		want []dmflow.Event
	}{
		{"text.json", []dmflow.Event{with(msg(dmflow.KindMessage, "m:aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAw", "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAw"),
			func(e *dmflow.Event) { e.Text = "Hi! äöå 😀" })}},
		{"attachment_image.json", []dmflow.Event{with(msg(dmflow.KindMessage, "m:mid.image", "mid.image"),
			attachment("image", "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1&signature=abc", "", ""))}},
		{"attachment_video.json", []dmflow.Event{with(msg(dmflow.KindMessage, "m:mid.video", "mid.video"), attachment("video", cdn+"video", "", ""))}},
		{"attachment_audio.json", []dmflow.Event{with(msg(dmflow.KindMessage, "m:mid.audio", "mid.audio"), attachment("audio", cdn+"audio", "", ""))}},
		{"attachment_file.json", []dmflow.Event{with(msg(dmflow.KindMessage, "m:mid.file", "mid.file"), attachment("file", cdn+"file", "", ""))}},
		{"attachment_share.json", []dmflow.Event{with(msg(dmflow.KindMessage, "m:mid.share", "mid.share"), attachment("share", cdn+"share", "", ""))}},
		{"attachment_story_mention.json", []dmflow.Event{with(msg(dmflow.KindMessage, "m:mid.story_mention", "mid.story_mention"), attachment("story_mention", cdn+"story_mention", "", ""))}},
		{"attachment_ig_reel.json", []dmflow.Event{with(msg(dmflow.KindMessage, "m:mid.ig_reel", "mid.ig_reel"), attachment("ig_reel", cdn+"reel", "Our new collection", "17912345678901234"))}},
		{"attachment_reel.json", []dmflow.Event{with(msg(dmflow.KindMessage, "m:mid.reel", "mid.reel"), attachment("reel", cdn+"reel2", "", "17912345678905678"))}},
		{"quick_reply.json", []dmflow.Event{with(msg(dmflow.KindMessage, "m:mid.qr", "mid.qr"), func(e *dmflow.Event) { e.Text, e.Payload = "Pro", "PLAN_PRO" })}},
		{"postback.json", []dmflow.Event{with(msg(dmflow.KindPostback, "pb:mid.pb", "mid.pb"), func(e *dmflow.Event) {
			e.Title, e.Payload = "Track my order", "TRACK"
			e.Referral = &dmflow.Referral{Ref: "qr_berlin", Source: "SHORTLINKS", Type: "OPEN_THREAD"}
		})}},
		{"postback_no_mid.json", []dmflow.Event{with(msg(dmflow.KindPostback, "pb:"+user+":1733000000123:HUMAN", ""), func(e *dmflow.Event) {
			e.Title, e.Payload = "Talk to a human", "HUMAN"
		})}},
		{"inline_reply.json", []dmflow.Event{with(msg(dmflow.KindMessage, "m:mid.inline", "mid.inline"), func(e *dmflow.Event) {
			e.Text, e.ReplyTo = "yes this one", &dmflow.ReplyTo{MID: "mid.earlier"}
		})}},
		{"story_reply.json", []dmflow.Event{with(msg(dmflow.KindMessage, "m:mid.story", "mid.story"), func(e *dmflow.Event) {
			e.Text, e.ReplyTo = "love it", &dmflow.ReplyTo{StoryID: "17890000000000042", StoryURL: cdn + "story"}
		})}},
		{"reaction_react.json", []dmflow.Event{with(msg(dmflow.KindReaction, "r:mid.reacted:react:love:"+user, "mid.reacted"), func(e *dmflow.Event) {
			e.Reaction = &dmflow.Reaction{MID: "mid.reacted", Action: "react", Reaction: "love", Emoji: "❤️"}
		})}},
		{"reaction_unreact.json", []dmflow.Event{with(msg(dmflow.KindReaction, "r:mid.reacted:unreact::"+user, "mid.reacted"), func(e *dmflow.Event) {
			e.Reaction = &dmflow.Reaction{MID: "mid.reacted", Action: "unreact"}
		})}},
		{"read.json", []dmflow.Event{msg(dmflow.KindRead, "read:mid.lastseen:"+user, "mid.lastseen")}},
		{"referral_igme.json", []dmflow.Event{with(msg(dmflow.KindReferral, "ref:"+user+":1733000000123:qr_berlin", ""), func(e *dmflow.Event) {
			e.Referral = &dmflow.Referral{Ref: "qr_berlin", Source: "SHORTLINKS", Type: "OPEN_THREAD"}
		})}},
		{"referral_ad.json", []dmflow.Event{with(msg(dmflow.KindMessage, "m:mid.ad", "mid.ad"), func(e *dmflow.Event) {
			e.Text = "Is this still available?"
			e.Referral = &dmflow.Referral{Ref: "spring", Source: "ADS", Type: "OPEN_THREAD", AdID: "120200000000001203",
				AdTitle: "Spring sale", Photo: "https://example.com/ad.jpg", Video: "https://example.com/ad.mp4"}
		})}},
		{"edit.json", []dmflow.Event{with(msg(dmflow.KindEdit, "edit:mid.edited:2", "mid.edited"), func(e *dmflow.Event) { e.Text, e.EditCount = "see you at 6", 2 })}},
		{"edit_zero.json", []dmflow.Event{with(msg(dmflow.KindMessage, "m:mid.new", "mid.new"), func(e *dmflow.Event) { e.Text = "hello" })}},
		{"delete.json", []dmflow.Event{msg(dmflow.KindDelete, "del:mid.gone", "mid.gone")}},
		{"unsupported.json", []dmflow.Event{msg(dmflow.KindUnsupported, "m:mid.gif", "mid.gif")}},
		{"optin.json", []dmflow.Event{with(msg(dmflow.KindOptin, "opt:"+user+":1733000000123", ""), func(e *dmflow.Event) { e.Payload = "WEEKLY_DEALS" })}},
		{"handover_pass.json", []dmflow.Event{with(msg(dmflow.KindHandover, "ho:"+user+":1733000000123", ""), func(e *dmflow.Event) {
			e.Handover = &dmflow.Handover{Action: "pass", PrevOwner: "1517776481860111", NewOwner: "263902037430900", Metadata: "additional content"}
		})}},
		{"handover_take.json", []dmflow.Event{with(msg(dmflow.KindHandover, "ho:"+user+":1733000000123", ""), func(e *dmflow.Event) {
			e.Handover = &dmflow.Handover{Action: "take", PrevOwner: "263902037430900", NewOwner: "1517776481860111", Metadata: "agent done"}
		})}},
		{"standby.json", []dmflow.Event{with(msg(dmflow.KindMessage, "m:mid.standby", "mid.standby"), func(e *dmflow.Event) { e.Text, e.Standby = "still there?", true })}},
		{"echo.json", []dmflow.Event{with(msg(dmflow.KindEcho, "echo:mid.echo", "mid.echo"), func(e *dmflow.Event) { e.Text = "An agent will answer shortly" })}},
		{"self.json", []dmflow.Event{with(msg(dmflow.KindMessage, "m:mid.self", "mid.self"), func(e *dmflow.Event) { e.User, e.Text, e.Self = acct, "note to self", true })}},
		{"comment.json", []dmflow.Event{comment("c:17865799348089039", "17865799348089039", func(e *dmflow.Event) {
			e.Text = "price?"
			e.Comment.MediaID, e.Comment.MediaType = "17887498072083520", "FEED"
		})}},
		{"comment_reply_ad.json", []dmflow.Event{comment("c:17865799348089040", "17865799348089040", func(e *dmflow.Event) {
			e.Text = "@acme how much?"
			e.Comment.ParentID, e.Comment.MediaID, e.Comment.MediaType, e.Comment.AdID = "17865799348089039", "17887498072083521", "AD", "120200000000001203"
		})}},
		{"comment_self.json", []dmflow.Event{comment("c:17865799348089041", "17865799348089041", func(e *dmflow.Event) {
			e.User, e.Text, e.Self = acct, "Thanks! Check your DMs", true
			e.Comment.Username, e.Comment.MediaID, e.Comment.MediaType = "acme", "17887498072083520", "REELS"
		})}},
		{"live_comment.json", []dmflow.Event{comment("c:17865799348089050", "17865799348089050", func(e *dmflow.Event) {
			e.Text = "hello from Berlin"
			e.Comment.MediaID, e.Comment.MediaType, e.Comment.Live = "17887498072083599", "LIVE", true
		})}},
		{"dashboard_test.json", []dmflow.Event{{Key: "m:random_mid", Kind: dmflow.KindMessage, Channel: "instagram",
			Account: "23245", User: "12334", Time: time.Unix(1527459824, 0).UTC(), MID: "random_mid", Text: "random_text"}}},
		{"string_timestamps.json", []dmflow.Event{with(msg(dmflow.KindMessage, "m:mid.strts", "mid.strts"), func(e *dmflow.Event) { e.Text = "numbers as strings" })}},
		{"unknown_kind.json", []dmflow.Event{with(msg(dmflow.KindMessage, "m:mid.after", "mid.after"), func(e *dmflow.Event) {
			e.Text, e.Time = "after unknown", time.UnixMilli(1733000000124).UTC()
		})}},
		{"array_envelope.json", []dmflow.Event{with(msg(dmflow.KindMessage, "m:mid.arr", "mid.arr"), func(e *dmflow.Event) { e.Text = "wrapped" })}},
		{"other_object.json", nil},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		seen[tt.file] = true
		t.Run(tt.file, func(t *testing.T) {
			got := parseFile(t, tt.file)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse(%s):\n got %s\nwant %s", tt.file, dump(got), dump(tt.want))
			}
		})
	}
	files, _ := filepath.Glob("testdata/*.json")
	for _, f := range files {
		if name := filepath.Base(f); !seen[name] && name != "batch.json" {
			t.Errorf("testdata/%s has no table entry", name)
		}
	}
}

// parseFile parses a testdata body and strips Raw after checking it is the
// item's own JSON.
func parseFile(t *testing.T, name string) []dmflow.Event {
	t.Helper()
	events := readParse(t, name)
	for i := range events {
		if !json.Valid(events[i].Raw) || len(events[i].Raw) == 0 {
			t.Errorf("event %d: Raw is not the item JSON: %q", i, events[i].Raw)
		}
		events[i].Raw = nil
	}
	return events
}

func readParse(t *testing.T, name string) []dmflow.Event {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	events, err := instagram.Parse(body)
	if err != nil {
		t.Fatalf("Parse(%s): %v", name, err)
	}
	return events
}

func dump(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

func TestParseBatchOrder(t *testing.T) {
	events := parseFile(t, "batch.json")
	var keys []string
	for _, e := range events {
		keys = append(keys, e.Account+" "+e.User+" "+e.Key)
	}
	// user's events sorted by timestamp in the slots the user occupied;
	// the other user and the other account keep their places.
	want := []string{
		acct + " " + user + " m:mid.b1",
		acct + " 1111 m:mid.o1",
		acct + " " + user + " r:mid.b1:react:like:" + user,
		acct + " " + user + " m:mid.b3",
		"17841400000000002 " + user + " m:mid.acct2",
	}
	if !reflect.DeepEqual(keys, want) {
		t.Errorf("order:\n got %q\nwant %q", keys, want)
	}
}

func TestParseEchoKeepsAppID(t *testing.T) {
	events := readParse(t, "echo.json")
	var raw struct {
		Message struct {
			AppID json.Number `json:"app_id"`
		} `json:"message"`
	}
	if err := json.Unmarshal(events[0].Raw, &raw); err != nil || raw.Message.AppID != "263902037430900" {
		t.Errorf("echo Raw app_id = %q, %v", raw.Message.AppID, err)
	}
}

func TestParseMalformed(t *testing.T) {
	for _, body := range []string{``, `nope`, `{"object":"instagram","entry":`, `"instagram"`, `{"object":"instagram","entry":{}}`, `[1,2]`} {
		t.Run(body, func(t *testing.T) {
			_, err := instagram.Parse([]byte(body))
			if !errors.Is(err, dmflow.ErrInvalid) {
				t.Errorf("Parse(%q) error = %v, want ErrInvalid", body, err)
			}
		})
	}
}

func TestParseSameBodySameKeys(t *testing.T) {
	body, _ := os.ReadFile("testdata/batch.json")
	a, _ := instagram.Parse(body)
	b, _ := instagram.Parse(body)
	for i := range a {
		if a[i].Key != b[i].Key || a[i].Key == "" {
			t.Errorf("event %d: keys %q vs %q", i, a[i].Key, b[i].Key)
		}
	}
}
