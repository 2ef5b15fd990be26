package bot_test

import (
	"testing"

	"github.com/dmflow/dmflow/bot"
)

func TestOnStepSeesEveryStepUntilRemoved(t *testing.T) {
	s := newSender()
	b := start(t, testConfig(s))
	steps := make(chan bot.Step, 4)
	remove := b.OnStep(func(st bot.Step) { steps <- st })
	ingest(t, b, msg("u1", "1", "hello"), msg("u1", "2", "boom"))
	first, second := <-steps, <-steps
	if first.Event.Text != "hello" || first.Before != nil || first.Turn == nil || len(first.Turn.Trace) == 0 || first.Now.IsZero() {
		t.Fatalf("first step %+v", first)
	}
	if second.Event.Text != "boom" || second.Err == nil || second.Turn != nil || second.Before == nil {
		t.Fatalf("second step %+v: want the engine error and the session before", second)
	}
	remove()
	ingest(t, b, msg("u1", "3", "again"))
	eventually(t, "the third reply", func() bool { return len(s.texts(key("u1"))) == 2 })
	select {
	case st := <-steps:
		t.Fatalf("observed after remove: %+v", st)
	default:
	}
}
