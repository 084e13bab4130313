package users

import (
	"bytes"
	"encoding/json"

	"github.com/selfdb/selfdb/platform/httpserver"
)

// optString is a JSON field that distinguishes absent, null and a value.
type optString struct {
	Set   bool
	Value *string
}

// UnmarshalJSON records that the field was sent.
func (o *optString) UnmarshalJSON(b []byte) error {
	o.Set = true
	if bytes.Equal(b, []byte("null")) {
		o.Value = nil
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	o.Value = &s
	return nil
}

// OpenAPISchema: on the wire the field is a string or null.
func (optString) OpenAPISchema() httpserver.Schema {
	return httpserver.Schema{Type: "string", Nullable: true}
}

// updateMe is PUT /users/me's body; is_superuser and is_active are not
// fields, so they are ignored.
type updateMe struct {
	Email    *string   `json:"email"`
	FullName optString `json:"full_name"`
	Password *string   `json:"password"`
}

// updatePassword is PUT /users/me/password's body.
type updatePassword struct {
	CurrentPassword *string `json:"current_password"`
	NewPassword     *string `json:"new_password"`
}

// createUser is POST /users's body (superuser).
type createUser struct {
	Email       *string `json:"email"`
	Password    *string `json:"password"`
	FullName    *string `json:"full_name"`
	IsActive    *bool   `json:"is_active"`
	IsSuperuser *bool   `json:"is_superuser"`
}

// updateUser is PUT /users/{user_id}'s body (superuser).
type updateUser struct {
	Email       *string   `json:"email"`
	FullName    optString `json:"full_name"`
	Password    *string   `json:"password"`
	IsActive    *bool     `json:"is_active"`
	IsSuperuser *bool     `json:"is_superuser"`
}

// anonKey is GET /users/me/anon-key's answer.
type anonKey struct {
	AnonKey string `json:"anon_key"`
}
