package events

import "github.com/selfdb/selfdb/platform/apperr"

// ErrTooOld refuses a replay from before the pruned horizon.
var ErrTooOld = apperr.Invalid("since_too_old", "The requested events are older than the retention window and were pruned")
