package actions

import "time"

// Backoff exposes the retry delay before attempt+1 to the black-box tests.
func (h *HTTP) Backoff(attempt int) time.Duration { return h.backoff(attempt) }
