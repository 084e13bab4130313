package functions

import (
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// Function is a persisted function.
type Function struct {
	bun.BaseModel `bun:"table:selfdb.functions,alias:f"`

	ID              uuid.UUID  `bun:"id,pk,type:uuid"`
	Name            string     `bun:"name,notnull"`
	Description     *string    `bun:"description"`
	Code            string     `bun:"code,notnull"`
	IsActive        bool       `bun:"is_active,notnull"`
	OwnerID         uuid.UUID  `bun:"owner_id,type:uuid,notnull"`
	VersionNumber   int        `bun:"version_number,notnull"`
	Triggers        []Trigger  `bun:"triggers,type:jsonb,notnull"`
	CodeTriggers    []Trigger  `bun:"code_triggers,type:jsonb,notnull"`
	AnalyzedVersion int        `bun:"analyzed_version,notnull"`
	TimeoutMS       int        `bun:"timeout_ms,notnull"`
	InvokePolicy    string     `bun:"invoke_policy,notnull"`
	EnvVersion      int        `bun:"env_version,notnull"`
	CreatedAt       time.Time  `bun:"created_at,notnull"`
	UpdatedAt       *time.Time `bun:"updated_at"`
}

// Effective is what the function answers to: its stored triggers and those
// its code declares, without duplicates; a function with none has the
// default http trigger (any method).
func (f *Function) Effective() []Trigger { return mergeTriggers(f.Triggers, f.CodeTriggers) }

// key names the function's current version and environment in a runtime.
func (f *Function) key() string { return versionKey(f.ID, f.VersionNumber, f.EnvVersion) }

// WithLastRun is a function with its latest run.
type WithLastRun struct {
	Function   `bun:",extend"`
	LastRunAt  *time.Time `bun:"last_run_at"`
	LastStatus *string    `bun:"last_status"`
}

// Version is one saved code of a function.
type Version struct {
	bun.BaseModel `bun:"table:selfdb.function_versions,alias:v"`

	ID            uuid.UUID  `bun:"id,pk,type:uuid,default:gen_random_uuid()"`
	FunctionID    uuid.UUID  `bun:"function_id,type:uuid,notnull"`
	VersionNumber int        `bun:"version_number,notnull"`
	Code          string     `bun:"code,notnull"`
	CreatedAt     time.Time  `bun:"created_at,notnull,default:now()"`
	CreatedBy     *uuid.UUID `bun:"created_by,type:uuid"`
}

// EnvVar is one variable of a function's environment.
type EnvVar struct {
	bun.BaseModel `bun:"table:selfdb.function_env,alias:e"`

	ID         uuid.UUID  `bun:"id,pk,type:uuid,default:gen_random_uuid()"`
	FunctionID uuid.UUID  `bun:"function_id,type:uuid,notnull"`
	Key        string     `bun:"key,notnull"`
	Value      string     `bun:"value,notnull"`
	IsSecret   bool       `bun:"is_secret,notnull"`
	CreatedAt  time.Time  `bun:"created_at,notnull,default:now()"`
	UpdatedAt  *time.Time `bun:"updated_at"`
}

// The statuses of a run.
const (
	StatusSuccess     = "success"
	StatusError       = "error"
	StatusTimeout     = "timeout"
	StatusUnavailable = "unavailable"
)

// Run is one execution of a function, whatever triggered it.
type Run struct {
	bun.BaseModel `bun:"table:selfdb.function_runs,alias:r"`

	ID            uuid.UUID `bun:"id,pk,type:uuid"`
	FunctionID    uuid.UUID `bun:"function_id,type:uuid,notnull"`
	VersionNumber int       `bun:"version_number,notnull"`
	Trigger       string    `bun:"trigger,notnull"`
	Status        string    `bun:"status,notnull"`
	HTTPStatus    *int      `bun:"http_status"`
	DurationMS    int       `bun:"duration_ms,notnull"`
	StartedAt     time.Time `bun:"started_at,notnull"`
	Logs          string    `bun:"logs,notnull"`
	Error         *string   `bun:"error"`
	EventID       *int64    `bun:"event_id"`
}

// versionKey names a version with its environment; a runtime loads each key
// once.
func versionKey(fn uuid.UUID, version, envVersion int) string {
	return fn.String() + "." + strconv.Itoa(version) + "." + strconv.Itoa(envVersion)
}
