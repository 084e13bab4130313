package realtime

import "github.com/selfdb/selfdb/platform/apperr"

// The module's errors: the HTTP refusal of the endpoint, and the codes of
// the error frames ({"type":"error","error","code"}) sent after
// authentication. Frames also carry the REST API's codes where the cause is
// the same (not_enough_privileges, invalid_identifier, table_not_found,
// since_too_old, ...).
var (
	// ErrUpgradeRequired answers a plain HTTP request to the WebSocket endpoint.
	ErrUpgradeRequired = apperr.New(apperr.KindUpgradeRequired, "upgrade_required",
		"This endpoint speaks WebSocket: connect with a WebSocket client")
	// ErrInvalidFrame is a frame that is not a JSON object.
	ErrInvalidFrame = apperr.Invalid("invalid_frame", "Frames must be JSON objects")
	// ErrUnknownType is a frame of a type the protocol doesn't have.
	ErrUnknownType = apperr.Invalid("unknown_type", "Unknown frame type; expected authenticate, subscribe, unsubscribe or ping")
	// ErrInvalidSubscription is a subscribe or unsubscribe frame naming no subscription.
	ErrInvalidSubscription = apperr.Invalid("invalid_subscription", "A subscribe frame needs a subscription_id or a channel")
	// ErrInvalidSince is a since that is not an event id.
	ErrInvalidSince = apperr.Invalid("invalid_since", "since must be an event id (a non-negative integer)")
	// ErrTooManySubscriptions is a subscribe past REALTIME_MAX_SUBSCRIPTIONS.
	ErrTooManySubscriptions = apperr.Invalid("too_many_subscriptions", "A connection holds too many subscriptions")
)
