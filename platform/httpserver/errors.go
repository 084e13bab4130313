package httpserver

import (
	"context"
	"errors"
	"net/http"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/selfdb/selfdb/platform/apperr"
	"github.com/selfdb/selfdb/platform/db"
	"github.com/selfdb/selfdb/platform/logging"
)

// ErrAnonKey is the anon-key gate's refusal (api.md §0.2).
var ErrAnonKey = apperr.Unauthenticated("invalid_anon_key",
	"Missing or invalid anon-key. Every request must include a valid anon-key in the header or query params.")

// ErrBodyTooLarge is the body limit's refusal.
var ErrBodyTooLarge = apperr.TooLarge("body_too_large", "Request body too large")

// ErrHeadersTooLarge is a request line and headers that don't fit the
// server's read buffer (ReadBufferSize in New).
var ErrHeadersTooLarge = apperr.New(apperr.KindHeadersTooLarge, "headers_too_large", "Request header fields too large")

// ErrNotFound is a path no route serves.
var ErrNotFound = apperr.NotFound("not_found", "Not Found")

// ErrMethodNotAllowed is a method the path's routes don't serve.
var ErrMethodNotAllowed = apperr.New(apperr.KindMethodNotAllowed, "method_not_allowed", "Method Not Allowed")

// ErrBadRequest is a request Fiber itself refused (unparsable); its status
// and message are Fiber's.
var ErrBadRequest = apperr.Invalid("bad_request", "Bad Request")

// fiberErrors maps Fiber's own errors (routing, parsing) into the contract.
func fromFiber(fe *fiber.Error) *apperr.Error {
	switch fe.Code {
	case http.StatusNotFound:
		return ErrNotFound
	case http.StatusMethodNotAllowed:
		return ErrMethodNotAllowed
	case http.StatusRequestEntityTooLarge:
		return ErrBodyTooLarge
	case http.StatusRequestHeaderFieldsTooLarge:
		// fasthttp's "small read buffer", which Fiber turns into a 431.
		return ErrHeadersTooLarge
	case http.StatusUnprocessableEntity:
		return apperr.Validation(apperr.Field("body", "", fe.Message, "value_error"))
	}
	if fe.Code >= 400 && fe.Code < 500 {
		e := ErrBadRequest.WithMessage("%s", fe.Message)
		e.Kind = kindOf(fe.Code)
		return e
	}
	return apperr.Internal(fe)
}

func kindOf(status int) apperr.Kind {
	switch status {
	case http.StatusUnauthorized:
		return apperr.KindUnauthenticated
	case http.StatusForbidden:
		return apperr.KindForbidden
	case http.StatusRequestedRangeNotSatisfiable:
		return apperr.KindRangeNotSatisfiable
	case http.StatusTooManyRequests:
		return apperr.KindRateLimited
	}
	return apperr.KindInvalid
}

type errorBody struct {
	Detail  any    `json:"detail"`
	Code    string `json:"code"`
	Message string `json:"message,omitempty"`
}

// errorHandler is the one place errors become responses.
type errorHandler struct {
	log    *zap.Logger
	counts *prometheus.CounterVec
}

func newErrorHandler(log *zap.Logger, reg prometheus.Registerer) *errorHandler {
	h := &errorHandler{
		log: log,
		counts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "selfdb_http_errors_total",
			Help: "Error responses by stable error code.",
		}, []string{"code"}),
	}
	reg.MustRegister(h.counts)
	return h
}

// Handle renders err as the contract's body; it is Fiber's ErrorHandler.
func (h *errorHandler) Handle(c *fiber.Ctx, err error) error {
	var ae *apperr.Error
	var fe *fiber.Error
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &fe):
		ae = fromFiber(fe)
	case errors.Is(err, context.DeadlineExceeded):
		// The only deadline on a request is its database deadline
		// (dbDeadline); code that gave up on it without db.Err (a cache
		// loader's waiter) lands here.
		ae = db.ErrBusy.Wrap(err)
	default:
		ae = apperr.Internal(err)
	}
	status := ae.Kind.Status()
	h.counts.WithLabelValues(ae.Code).Inc()
	if status >= 500 {
		logging.For(h.log, c).Error("request failed",
			zap.String("method", c.Method()), zap.String("path", c.Path()),
			zap.Int("status", status), zap.String("code", ae.Code), zap.Error(ae.Err))
	}
	// These answers come before the request was read to its end; so may any
	// that closes the connection (an upload refused by its Content-Length).
	if status == http.StatusRequestEntityTooLarge || status == http.StatusRequestHeaderFieldsTooLarge ||
		c.Response().ConnectionClose() {
		lingerOnClose(c)
	}
	for k, v := range ae.Headers {
		c.Set(k, v)
	}
	body := errorBody{Detail: ae.Message, Code: ae.Code, Message: ae.Message}
	if ae.Kind == apperr.KindInternal {
		body.Detail, body.Message = "Internal server error", "Internal server error"
	}
	if len(ae.Fields) > 0 {
		body.Detail, body.Message = ae.Fields, ""
	}
	if c.Method() == fiber.MethodHead {
		c.Status(status)
		return nil
	}
	if len(ae.Extra) > 0 {
		withExtra := make(map[string]any, len(ae.Extra)+3)
		for k, v := range ae.Extra {
			withExtra[k] = v
		}
		withExtra["detail"], withExtra["code"] = body.Detail, body.Code
		if body.Message != "" {
			withExtra["message"] = body.Message
		} else {
			delete(withExtra, "message")
		}
		return c.Status(status).JSON(withExtra)
	}
	return c.Status(status).JSON(body)
}
