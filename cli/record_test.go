package cli

import (
	"strings"
	"testing"
)

// TestRecordedTranscriptPasses runs the transcript bot/history's
// TestRecordTranscript recorded through the real pipeline (a timer, an
// action result as a mock, quick replies) with `dmflow test`: a recorded
// conversation replays exactly against the flows it was recorded with.
func TestRecordedTranscriptPasses(t *testing.T) {
	code, out, errs := runCmd(t, envMap{}, "test", "-v", "../bot/history/testdata/recorded")
	if code != exitOK || !strings.Contains(out, "ok   1 transcript, 10 steps") {
		t.Fatalf("dmflow test: exit %d\n%s%s", code, out, errs)
	}
}
