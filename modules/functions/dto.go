package functions

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"github.com/selfdb/selfdb/platform/httpserver"
)

// Out is the Function of api.md §9.
type Out struct {
	ID            uuid.UUID  `json:"id"`
	Name          string     `json:"name"`
	Description   *string    `json:"description"`
	Code          string     `json:"code"`
	IsActive      bool       `json:"is_active"`
	OwnerID       uuid.UUID  `json:"owner_id"`
	VersionNumber int        `json:"version_number"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     *time.Time `json:"updated_at"`
	// EXT
	Triggers     []Trigger  `json:"triggers"`
	CodeTriggers []Trigger  `json:"code_triggers"`
	TimeoutMS    int        `json:"timeout_ms"`
	InvokePolicy string     `json:"invoke_policy"`
	LastRunAt    *time.Time `json:"last_run_at"`
	LastStatus   *string    `json:"last_status"`
}

// CreateRequest is POST /api/v1/functions. The JS SDK's trigger_type,
// trigger_config and environment_variables are read too.
type CreateRequest struct {
	Name         *string   `json:"name"`
	Code         *string   `json:"code"`
	Description  *string   `json:"description"`
	IsActive     *bool     `json:"is_active"`
	Triggers     []Trigger `json:"triggers"`
	TimeoutMS    *int      `json:"timeout_ms"`
	InvokePolicy *string   `json:"invoke_policy"`
	// JS SDK shape: one trigger, and plain (secret) env vars.
	TriggerType   *string           `json:"trigger_type"`
	TriggerConfig json.RawMessage   `json:"trigger_config"`
	EnvVars       map[string]string `json:"environment_variables"`
}

// UpdateRequest is PUT /api/v1/functions/{id}; nil fields stay as they are.
type UpdateRequest struct {
	Name          *string         `json:"name"`
	Code          *string         `json:"code"`
	Description   *string         `json:"description"`
	IsActive      *bool           `json:"is_active"`
	Triggers      *[]Trigger      `json:"triggers"`
	TimeoutMS     *int            `json:"timeout_ms"`
	InvokePolicy  *string         `json:"invoke_policy"`
	TriggerType   *string         `json:"trigger_type"`
	TriggerConfig json.RawMessage `json:"trigger_config"`
}

// VersionOut is one entry of GET /{id}/versions.
type VersionOut struct {
	ID            uuid.UUID  `json:"id"`
	VersionNumber int        `json:"version_number"`
	Code          string     `json:"code"`
	CreatedAt     time.Time  `json:"created_at"`
	CreatedBy     *uuid.UUID `json:"created_by"`
}

// Masked is what a secret value reads as.
const Masked = "********"

// EnvOut is an env var on the wire; a secret's value is Masked.
type EnvOut struct {
	ID        uuid.UUID  `json:"id"`
	Key       string     `json:"key"`
	Value     string     `json:"value"`
	IsSecret  bool       `json:"is_secret"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt *time.Time `json:"updated_at"`
}

// EnvRequest is POST /{id}/env and PUT /{id}/env/{env_id}.
type EnvRequest struct {
	Key      *string `json:"key"`
	Value    *string `json:"value"`
	IsSecret *bool   `json:"is_secret"`
}

// RunOut is one entry of GET /{id}/logs.
type RunOut struct {
	ID            uuid.UUID `json:"id"`
	Trigger       string    `json:"trigger"`
	Status        string    `json:"status"`
	HTTPStatus    *int      `json:"http_status"`
	DurationMS    int       `json:"duration_ms"`
	StartedAt     time.Time `json:"started_at"`
	Logs          string    `json:"logs"`
	Error         *string   `json:"error"`
	VersionNumber int       `json:"version_number"`
	EventID       *int64    `json:"event_id"`
}

// EventOut answers POST /events/{event}.
type EventOut struct {
	Event     string   `json:"event"`
	Functions []string `json:"functions"`
}

// OpenAPISchema: a method, or a list of them.
func (Methods) OpenAPISchema() httpserver.Schema {
	return httpserver.Schema{OneOf: []*httpserver.Schema{{Type: "string"}, {Type: "array", Items: &httpserver.Schema{Type: "string"}}}}
}

// ToOut renders a function on the wire.
func ToOut(f *WithLastRun) Out {
	o := Out{
		ID: f.ID, Name: f.Name, Description: f.Description, Code: f.Code, IsActive: f.IsActive,
		OwnerID: f.OwnerID, VersionNumber: f.VersionNumber, CreatedAt: f.CreatedAt.UTC(), UpdatedAt: utc(f.UpdatedAt),
		Triggers: nonNil(f.Triggers), CodeTriggers: nonNil(f.CodeTriggers), TimeoutMS: f.TimeoutMS,
		InvokePolicy: f.InvokePolicy, LastRunAt: utc(f.LastRunAt), LastStatus: f.LastStatus,
	}
	return o
}

func toVersionOut(v *Version) VersionOut {
	return VersionOut{ID: v.ID, VersionNumber: v.VersionNumber, Code: v.Code, CreatedAt: v.CreatedAt.UTC(), CreatedBy: v.CreatedBy}
}

func toEnvOut(e *EnvVar) EnvOut {
	o := EnvOut{ID: e.ID, Key: e.Key, Value: e.Value, IsSecret: e.IsSecret, CreatedAt: e.CreatedAt.UTC(), UpdatedAt: utc(e.UpdatedAt)}
	if e.IsSecret {
		o.Value = Masked
	}
	return o
}

func toRunOut(r *Run) RunOut {
	return RunOut{ID: r.ID, Trigger: r.Trigger, Status: r.Status, HTTPStatus: r.HTTPStatus, DurationMS: r.DurationMS,
		StartedAt: r.StartedAt.UTC(), Logs: r.Logs, Error: r.Error, VersionNumber: r.VersionNumber, EventID: r.EventID}
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func nonNil(ts []Trigger) []Trigger {
	if ts == nil {
		return []Trigger{}
	}
	return ts
}
