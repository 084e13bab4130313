package auth

import (
	"net/mail"
	"strings"
	"unicode/utf8"

	"github.com/selfdb/selfdb/platform/apperr"
)

// Limits of the account fields.
const (
	// MaxEmailLength is the longest address accepted (RFC 5321 path limit).
	MaxEmailLength = 254
	// MinPasswordLength is the shortest password accepted, in characters.
	MinPasswordLength = 8
	// MaxPasswordBytes is bcrypt's input limit.
	MaxPasswordBytes = 72
	// MaxFullNameLength bounds full_name, in characters.
	MaxFullNameLength = 255
)

// CheckEmail validates an email address; the error's loc is ["body", field].
func CheckEmail(field, v string) *apperr.FieldError {
	switch {
	case len(v) > MaxEmailLength:
		return fieldErr(field, "value is not a valid email address: too long", "value_error")
	case strings.ContainsRune(v, 0) || !utf8.ValidString(v):
		return fieldErr(field, "value is not a valid email address: invalid characters", "value_error")
	}
	a, err := mail.ParseAddress(v)
	if err != nil || a.Address != v || a.Name != "" || !strings.Contains(v[strings.LastIndexByte(v, '@')+1:], ".") {
		return fieldErr(field, "value is not a valid email address", "value_error")
	}
	return nil
}

// CheckPassword validates a new password.
func CheckPassword(field, v string) *apperr.FieldError {
	switch {
	case strings.ContainsRune(v, 0) || !utf8.ValidString(v):
		return fieldErr(field, "String must not contain NUL bytes", "string_invalid")
	case utf8.RuneCountInString(v) < MinPasswordLength:
		return fieldErr(field, "String should have at least 8 characters", "string_too_short")
	case len(v) > MaxPasswordBytes:
		return fieldErr(field, "String should have at most 72 bytes", "string_too_long")
	}
	return nil
}

// CheckFullName validates a full name.
func CheckFullName(field, v string) *apperr.FieldError {
	switch {
	case strings.ContainsRune(v, 0) || !utf8.ValidString(v):
		return fieldErr(field, "String must not contain NUL bytes", "string_invalid")
	case utf8.RuneCountInString(v) > MaxFullNameLength:
		return fieldErr(field, "String should have at most 255 characters", "string_too_long")
	}
	return nil
}

// Missing is the 422 entry of a required field that was not sent.
func Missing(field string) *apperr.FieldError { return fieldErr(field, "Field required", "missing") }

func fieldErr(field, msg, typ string) *apperr.FieldError {
	f := apperr.Field("body", field, msg, typ)
	return &f
}

// Fields gathers the non-nil entries into one 422, or nil when all are nil.
func Fields(errs ...*apperr.FieldError) error {
	var out []apperr.FieldError
	for _, e := range errs {
		if e != nil {
			out = append(out, *e)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return apperr.Validation(out...)
}
