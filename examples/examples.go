// Package examples embeds the example flows so that the dmflow binary can
// run one without any file on disk: `dmflow serve` with no --flows and no
// ./flows directory runs LeadCapture in the sandbox.
package examples

import (
	"embed"
	"io/fs"
)

//go:embed lead-capture/*.yaml
var files embed.FS

// LeadCaptureDir is the directory of the lead-capture example inside FS.
const LeadCaptureDir = "lead-capture"

// FS returns the embedded example flows (and their *.test.yaml
// transcripts, which flows.LoadFS skips). Load the lead-capture bot with
// flows.LoadFS(examples.FS(), examples.LeadCaptureDir).
func FS() fs.FS { return files }
