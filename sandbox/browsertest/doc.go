// Package browsertest holds the sandbox studio's end-to-end tests: they run
// the whole sandbox pipeline (sandbox/internal/harness) and drive the page
// in headless Chromium with chromedp.
//
// The tests need Chromium: set DMFLOW_CHROMIUM to its path (scripts/test.sh
// installs Debian's chromium package when missing and sets it). Without it
// they fail when CI=true and skip, saying why, otherwise. Screenshots go to
// $DMFLOW_ARTIFACTS (default: the test's temporary directory); run with
// -update-screenshot to refresh docs/studio.png.
package browsertest
