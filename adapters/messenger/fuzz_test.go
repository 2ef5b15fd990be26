package messenger_test

import (
	"errors"
	"testing"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/adapters/messenger"
	"github.com/dmflow/dmflow/adapters/messenger/messengertest"
)

// FuzzParse: Parse never panics; errors wrap ErrInvalid; every event is
// a Messenger event with a key; parsing is deterministic.
func FuzzParse(f *testing.F) {
	for _, d := range sampleDeliveries(messengertest.Webhook{}) {
		f.Add(d.Body)
	}
	f.Add([]byte(`[{"object":"page","entry":[{"id":1,"time":"x","messaging":[{"sender":{"id":2},"timestamp":1e30,"delivery":{"mids":null}}]}]}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := messenger.Parse(body)
		if err != nil {
			if !errors.Is(err, dmflow.ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		again, _ := messenger.Parse(body)
		if len(again) != len(evs) {
			t.Fatalf("nondeterministic: %d then %d events", len(evs), len(again))
		}
		for i, ev := range evs {
			if ev.Channel != messenger.Channel || ev.Key == "" || ev.User == "" {
				t.Fatalf("event %d: %+v", i, ev)
			}
			if again[i].Key != ev.Key {
				t.Fatalf("event %d: key %q then %q", i, ev.Key, again[i].Key)
			}
		}
	})
}
