package sandbox

import (
	"embed"
	"io/fs"
)

//go:embed welcome/*.yaml
var welcome embed.FS

// WelcomeDir is the directory of the welcome flow inside WelcomeFlows.
const WelcomeDir = "welcome"

// WelcomeFlows returns the embedded welcome flow, a short tour of replies,
// quick replies, cards, input capture and handoff that `dmflow serve` runs
// when no flows are configured. Load it with flows.LoadFS(WelcomeFlows(),
// WelcomeDir).
func WelcomeFlows() fs.FS { return welcome }
