package dmflow

import "errors"

// Sentinel errors. Packages wrap them with context ("store/bolt: get session
// acct/user: %w"); callers test them with errors.Is.
var (
	// ErrNotFound reports that a session, token or record does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict reports a lost compare-and-swap: the session changed since it was read.
	ErrConflict = errors.New("conflict: concurrent update")
	// ErrLeaseLost reports that a claim (inbox, outbox or action lease) expired or
	// was taken over by another owner before the work was committed.
	ErrLeaseLost = errors.New("lease lost")
	// ErrCorrupt reports a stored record that cannot be decoded, or that was
	// written by an unknown (newer) record version.
	ErrCorrupt = errors.New("corrupt record")
	// ErrClosed reports use of a Store or Sender after Close.
	ErrClosed = errors.New("closed")
	// ErrInvalid reports a request that is malformed and will never succeed.
	ErrInvalid = errors.New("invalid")
	// ErrOutsideWindow reports a reply that Instagram would refuse because the
	// user's last message is older than the messaging window (24 h, or 7 days
	// with the HUMAN_AGENT tag).
	ErrOutsideWindow = errors.New("outside the messaging window")
	// ErrPermanent marks a delivery failure that retrying cannot fix (the reply
	// goes to the dead-letter list). Adapters wrap their typed errors with it.
	ErrPermanent = errors.New("permanent failure")
	// ErrAmbiguous marks a delivery failure after which the message may or may
	// not have been delivered (Graph error 1/1357046, a timeout after the
	// request was written). It is not retried blindly.
	ErrAmbiguous = errors.New("ambiguous delivery")
)
