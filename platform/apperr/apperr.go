package apperr

import (
	"errors"
	"fmt"
	"net/http"
)

// Kind classifies an error; it alone decides the HTTP status.
type Kind int

// The kinds of error a module may return.
const (
	KindInternal Kind = iota
	KindInvalid
	KindValidation
	KindUnauthenticated
	KindForbidden
	KindNotFound
	KindMethodNotAllowed
	KindConflict
	KindTooLarge
	KindRangeNotSatisfiable
	KindRateLimited
	KindUnavailable
	KindTimeout
	KindInsufficientStorage
	KindHeadersTooLarge
	KindUpgradeRequired
)

// Status is the HTTP status of a kind.
func (k Kind) Status() int {
	switch k {
	case KindInvalid:
		return http.StatusBadRequest
	case KindValidation:
		return http.StatusUnprocessableEntity
	case KindUnauthenticated:
		return http.StatusUnauthorized
	case KindForbidden:
		return http.StatusForbidden
	case KindNotFound:
		return http.StatusNotFound
	case KindMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case KindConflict:
		return http.StatusConflict
	case KindTooLarge:
		return http.StatusRequestEntityTooLarge
	case KindHeadersTooLarge:
		return http.StatusRequestHeaderFieldsTooLarge
	case KindRangeNotSatisfiable:
		return http.StatusRequestedRangeNotSatisfiable
	case KindRateLimited:
		return http.StatusTooManyRequests
	case KindUnavailable:
		return http.StatusServiceUnavailable
	case KindTimeout:
		return http.StatusGatewayTimeout
	case KindUpgradeRequired:
		return http.StatusUpgradeRequired
	case KindInsufficientStorage:
		return http.StatusInsufficientStorage
	default:
		return http.StatusInternalServerError
	}
}

// FieldError is one entry of a 422 body, in FastAPI's shape.
type FieldError struct {
	Loc  []any  `json:"loc"`
	Msg  string `json:"msg"`
	Type string `json:"type"`
}

// Error is the error every module returns. Message is shown to the client as
// `detail`; Err is the cause, logged for 5xx and never shown.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	Fields  []FieldError
	// Headers are added to the response (WWW-Authenticate, Retry-After, ...).
	Headers map[string]string
	// Extra are further members of the response body (a compiler error's
	// line and column...); they never replace detail, code or message.
	Extra map[string]any
	Err   error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is matches errors of the same code, so errors.Is(err, ErrBucketNotFound)
// holds for a wrapped or re-messaged copy.
func (e *Error) Is(target error) bool {
	var t *Error
	if errors.As(target, &t) {
		return t.Code == e.Code && t.Kind == e.Kind
	}
	return false
}

// Wrap returns a copy of e carrying cause.
func (e *Error) Wrap(cause error) *Error {
	c := *e
	c.Err = cause
	return &c
}

// WithMessage returns a copy of e with another client-facing message.
func (e *Error) WithMessage(format string, args ...any) *Error {
	c := *e
	if len(args) > 0 {
		c.Message = fmt.Sprintf(format, args...)
	} else {
		c.Message = format
	}
	return &c
}

// WithHeader returns a copy of e that also sets a response header.
func (e *Error) WithHeader(k, v string) *Error {
	c := *e
	c.Headers = make(map[string]string, len(e.Headers)+1)
	for hk, hv := range e.Headers {
		c.Headers[hk] = hv
	}
	c.Headers[k] = v
	return &c
}

func newErr(k Kind, code, msg string) *Error { return &Error{Kind: k, Code: code, Message: msg} }

// With returns a copy of e whose response body also carries key: value.
func (e *Error) With(key string, value any) *Error {
	c := *e
	c.Extra = make(map[string]any, len(e.Extra)+1)
	for k, v := range e.Extra {
		c.Extra[k] = v
	}
	c.Extra[key] = value
	return &c
}

// Invalid is a 400.
func Invalid(code, msg string) *Error { return newErr(KindInvalid, code, msg) }

// Unauthenticated is a 401.
func Unauthenticated(code, msg string) *Error { return newErr(KindUnauthenticated, code, msg) }

// Forbidden is a 403.
func Forbidden(code, msg string) *Error { return newErr(KindForbidden, code, msg) }

// NotFound is a 404.
func NotFound(code, msg string) *Error { return newErr(KindNotFound, code, msg) }

// Conflict is a 409.
func Conflict(code, msg string) *Error { return newErr(KindConflict, code, msg) }

// TooLarge is a 413.
func TooLarge(code, msg string) *Error { return newErr(KindTooLarge, code, msg) }

// RateLimited is a 429.
func RateLimited(code, msg string) *Error { return newErr(KindRateLimited, code, msg) }

// Unavailable is a 503.
func Unavailable(code, msg string) *Error { return newErr(KindUnavailable, code, msg) }

// Timeout is a 504.
func Timeout(code, msg string) *Error { return newErr(KindTimeout, code, msg) }

// Internal is a 500; msg is never shown to clients.
func Internal(cause error) *Error {
	return &Error{Kind: KindInternal, Code: "internal", Message: "Internal server error", Err: cause}
}

// New builds an error of any kind.
func New(k Kind, code, msg string) *Error { return newErr(k, code, msg) }

// Validation is a 422 with FastAPI's field list.
func Validation(fields ...FieldError) *Error {
	return &Error{Kind: KindValidation, Code: "validation_failed", Message: "Validation failed", Fields: fields}
}

// Field builds one validation entry: Field("body", "email", "field required", "missing").
func Field(where, name, msg, typ string) FieldError {
	loc := []any{where}
	if name != "" {
		loc = append(loc, name)
	}
	return FieldError{Loc: loc, Msg: msg, Type: typ}
}

// From returns err as *Error, turning anything else into Internal.
func From(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Internal(err)
}
