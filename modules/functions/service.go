package functions

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"sync"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/selfdb/selfdb/platform/cache"
	"github.com/selfdb/selfdb/platform/config"
	"github.com/selfdb/selfdb/platform/events"
	"github.com/selfdb/selfdb/platform/identity"
)

// TokenIssuer mints access tokens of the functions' owners for callBackend;
// modules/auth's Service is one.
type TokenIssuer interface {
	AccessToken(ctx context.Context, userID uuid.UUID) (string, error)
}

// Service holds the functions' rules: management, invocation, triggers.
// Every method is for superusers unless it says otherwise; the routes
// guard them.
type Service struct {
	db       *bun.DB
	repo     *Repository
	cache    *cache.Cache
	fences   *cache.Fences
	rt       *Runtime
	rec      *recorder
	metrics  *metrics
	tokens   *ownerTokens
	platform *config.Config
	log      *zap.Logger

	// Runs started by triggers and events: cancelled and awaited at stop.
	bg       context.Context
	bgCancel context.CancelFunc
	bgMu     sync.Mutex
	bgRuns   sync.WaitGroup
	bgSlots  chan struct{}
}

// Params are NewService's dependencies.
type Params struct {
	fx.In
	DB       *bun.DB
	Cache    *cache.Cache
	Bus      *events.Bus
	Runtime  *Runtime
	Recorder *recorder
	Metrics  *metrics
	Tokens   TokenIssuer
	Platform *config.Config
	Logger   *zap.Logger
}

// maxBackgroundRuns bounds the trigger runs in flight per instance.
const maxBackgroundRuns = 64

// NewService builds the service.
func NewService(p Params) *Service {
	s := &Service{
		db: p.DB, repo: NewRepository(p.DB), cache: p.Cache, rt: p.Runtime, rec: p.Recorder, metrics: p.Metrics,
		tokens: newOwnerTokens(p.Tokens, p.Platform), platform: p.Platform, log: p.Logger.Named("functions"),
		bgSlots: make(chan struct{}, maxBackgroundRuns), fences: cache.NewFences(p.Cache),
	}
	// A function changed on another instance while memcached stalled must
	// not run there from a stale cached row: its name is fenced when the
	// change log reports the change (before this instance counts it heard).
	p.Bus.Handle(func(e *events.Event) bool { return e.Table == "selfdb.functions" }, func(e *events.Event) {
		for _, raw := range []json.RawMessage{e.Row, e.OldRow} {
			var r struct {
				Name string `json:"name"`
			}
			if json.Unmarshal(raw, &r) == nil && r.Name != "" {
				s.fences.Fence(s.nameKey(r.Name))
			}
		}
	})
	s.bg, s.bgCancel = context.WithCancel(context.Background())
	p.Runtime.OnReady(s.analyzePending)
	return s
}

var nameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// ValidName reports whether name follows the naming rule of api.md §9.
func ValidName(name string) bool { return nameRe.MatchString(name) }

// The bounds of timeout_ms.
const (
	defaultTimeoutMS = 30000
	minTimeoutMS     = 100
	maxTimeoutMS     = 3600000
)

// The invocation policies.
const (
	PolicyPublic        = "public"
	PolicyAuthenticated = "authenticated"
	PolicySuperuser     = "superuser"
)

// header returns a function by name without its code, as calls need it:
// from memcached (functions:name:<name>), else Postgres. Every write drops
// the key before it answers, so the next call on any instance reads the
// new row. Errors: function_not_found.
func (s *Service) header(ctx context.Context, name string) (*Function, error) {
	if !ValidName(name) {
		return nil, ErrNotFound
	}
	return cache.GetOrLoadFenced(ctx, s.cache, s.fences, s.nameKey(name), 0, func(ctx context.Context) (*Function, error) {
		return s.repo.Header(ctx, name)
	})
}

func (s *Service) nameKey(name string) string { return s.cache.Key("functions", "name", name) }

// forget drops the cached rows of functions by name (after a write).
func (s *Service) forget(names ...string) {
	keys := make([]string, 0, len(names))
	for _, n := range names {
		if n != "" {
			keys = append(keys, s.nameKey(n))
		}
	}
	s.cache.Invalidate(keys...)
}

// List pages through the functions.
func (s *Service) List(ctx context.Context, skip, limit int) ([]WithLastRun, error) {
	return s.repo.List(ctx, skip, limit)
}

// Get returns one function. Errors: function_not_found.
func (s *Service) Get(ctx context.Context, id uuid.UUID) (*WithLastRun, error) {
	return s.repo.Get(ctx, id)
}

// codeInfo is what saving learns from the code.
type codeInfo struct {
	analyzed    bool
	triggers    []Trigger
	description *string
}

// analyze compiles and loads code in a throwaway isolate of the runtime
// (its top-level code runs there, sandboxed like any run) and returns the
// triggers it declares. Without a runtime (no Deno binary) the code is
// accepted unread; it is analyzed when a runtime starts. Errors:
// function_code_invalid (with line and column), invalid_trigger,
// functions_unavailable (a runtime that is restarting).
func (s *Service) analyze(ctx context.Context, name, code string) (*codeInfo, error) {
	a, ok, err := s.rt.check(ctx, name, code)
	if err != nil {
		return nil, err
	}
	if !ok {
		return &codeInfo{}, nil
	}
	if !a.OK {
		e := ErrCodeInvalid.WithMessage("Function code does not compile: %s", a.Message).With("compiler_message", a.Message)
		if a.Line > 0 {
			e = ErrCodeInvalid.WithMessage("Function code does not compile: %s (line %d, column %d)", a.Message, a.Line, a.Column).
				With("compiler_message", a.Message).With("line", a.Line).With("column", a.Column)
		}
		return nil, e
	}
	if !a.HasDefault {
		return nil, ErrCodeInvalid.WithMessage("Function code must export a default function: export default async function handler(req, ctx) { ... }")
	}
	ts, err := codeTriggers(a.Triggers, a.RunOnce)
	if err != nil {
		return nil, err
	}
	return &codeInfo{analyzed: true, triggers: ts, description: a.Description}, nil
}

// requestTriggers reads the triggers of a request: triggers, or the JS
// SDK's trigger_type with trigger_config.
func requestTriggers(ts []Trigger, typ *string, cfg json.RawMessage) ([]Trigger, error) {
	if typ != nil {
		var t Trigger
		if len(cfg) > 0 && string(cfg) != "null" {
			if err := json.Unmarshal(cfg, &t); err != nil {
				return nil, ErrInvalidTrigger.WithMessage("Invalid trigger: trigger_config must be an object (%v)", err)
			}
		}
		t.Type = *typ
		ts = append(ts, t)
	}
	return normalizeAll(ts)
}

func validTimeout(ms int) error {
	if ms < minTimeoutMS || ms > maxTimeoutMS {
		return ErrInvalidTimeout
	}
	return nil
}

func validPolicy(p string) error {
	switch p {
	case PolicyPublic, PolicyAuthenticated, PolicySuperuser:
		return nil
	}
	return ErrInvalidPolicy
}

// Create stores a new function (version 1) owned by the caller. Errors:
// invalid_function_name, function_exists, function_code_invalid,
// invalid_trigger, invalid_timeout, invalid_invoke_policy, invalid_env_key.
func (s *Service) Create(ctx context.Context, p *identity.Principal, req CreateRequest) (*WithLastRun, error) {
	name, code := *req.Name, *req.Code
	if !ValidName(name) {
		return nil, ErrInvalidName
	}
	triggers, err := requestTriggers(req.Triggers, req.TriggerType, req.TriggerConfig)
	if err != nil {
		return nil, err
	}
	f := &Function{
		Name: name, Description: req.Description, Code: code, IsActive: true, OwnerID: p.ID, VersionNumber: 1,
		Triggers: triggers, CodeTriggers: []Trigger{}, TimeoutMS: defaultTimeoutMS, InvokePolicy: PolicyAuthenticated,
	}
	if req.IsActive != nil {
		f.IsActive = *req.IsActive
	}
	if req.TimeoutMS != nil {
		if err := validTimeout(*req.TimeoutMS); err != nil {
			return nil, err
		}
		f.TimeoutMS = *req.TimeoutMS
	}
	if req.InvokePolicy != nil {
		if err := validPolicy(*req.InvokePolicy); err != nil {
			return nil, err
		}
		f.InvokePolicy = *req.InvokePolicy
	}
	info, err := s.analyze(ctx, name, code)
	if err != nil {
		return nil, err
	}
	if info.analyzed {
		f.CodeTriggers, f.AnalyzedVersion = info.triggers, 1
		if f.Description == nil {
			f.Description = info.description
		}
	}
	err = inTx(ctx, s.db, func(ctx context.Context, r *Repository) error {
		if err := r.Insert(ctx, f); err != nil {
			return err
		}
		if err := r.InsertVersion(ctx, &Version{FunctionID: f.ID, VersionNumber: 1, Code: code, CreatedBy: &p.ID}); err != nil {
			return err
		}
		for k, v := range req.EnvVars {
			if err := r.InsertEnv(ctx, &EnvVar{FunctionID: f.ID, Key: k, Value: v, IsSecret: true}); err != nil {
				return err
			}
		}
		return r.SyncState(ctx, f)
	})
	if err != nil {
		return nil, err
	}
	s.forget(f.Name)
	return s.repo.Get(ctx, f.ID)
}

// Update changes a function; new code is a new version. Errors:
// function_not_found and those of Create.
func (s *Service) Update(ctx context.Context, p *identity.Principal, id uuid.UUID, req UpdateRequest) (*WithLastRun, error) {
	var info *codeInfo
	if req.Code != nil {
		cur, err := s.repo.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		if *req.Code != cur.Code {
			name := cur.Name
			if req.Name != nil {
				name = *req.Name
			}
			if info, err = s.analyze(ctx, name, *req.Code); err != nil {
				return nil, err
			}
		}
	}
	var triggers []Trigger
	if req.Triggers != nil || req.TriggerType != nil {
		var list []Trigger
		if req.Triggers != nil {
			list = *req.Triggers
		}
		var err error
		if triggers, err = requestTriggers(list, req.TriggerType, req.TriggerConfig); err != nil {
			return nil, err
		}
	}
	var names []string
	err := inTx(ctx, s.db, func(ctx context.Context, r *Repository) error {
		f, err := r.Lock(ctx, id)
		if err != nil {
			return err
		}
		names = append(names, f.Name)
		var cols []string
		if req.Name != nil && *req.Name != f.Name {
			if !ValidName(*req.Name) {
				return ErrInvalidName
			}
			f.Name, cols = *req.Name, append(cols, "name")
		}
		if req.Description != nil {
			f.Description, cols = req.Description, append(cols, "description")
		}
		if req.IsActive != nil {
			f.IsActive, cols = *req.IsActive, append(cols, "is_active")
		}
		if req.TimeoutMS != nil {
			if err := validTimeout(*req.TimeoutMS); err != nil {
				return err
			}
			f.TimeoutMS, cols = *req.TimeoutMS, append(cols, "timeout_ms")
		}
		if req.InvokePolicy != nil {
			if err := validPolicy(*req.InvokePolicy); err != nil {
				return err
			}
			f.InvokePolicy, cols = *req.InvokePolicy, append(cols, "invoke_policy")
		}
		if triggers != nil {
			f.Triggers, cols = triggers, append(cols, "triggers")
		}
		if req.Code != nil && *req.Code != f.Code {
			cols = append(cols, newVersion(f, *req.Code, info)...)
			if err := r.InsertVersion(ctx, &Version{FunctionID: f.ID, VersionNumber: f.VersionNumber, Code: f.Code, CreatedBy: &p.ID}); err != nil {
				return err
			}
		}
		if len(cols) == 0 {
			return nil
		}
		names = append(names, f.Name)
		if err := r.Update(ctx, f, cols...); err != nil {
			return err
		}
		return r.SyncState(ctx, f)
	})
	if err != nil {
		return nil, err
	}
	s.forget(names...)
	return s.repo.Get(ctx, id)
}

// newVersion makes code f's next version and returns the columns it set.
func newVersion(f *Function, code string, info *codeInfo) []string {
	f.Code = code
	f.VersionNumber++
	f.CodeTriggers, f.AnalyzedVersion = []Trigger{}, 0
	if info != nil && info.analyzed {
		f.CodeTriggers, f.AnalyzedVersion = info.triggers, f.VersionNumber
	}
	return []string{"code", "version_number", "code_triggers", "analyzed_version"}
}

// Restore makes the code of version n the function's next version. Errors:
// function_not_found, version_not_found, function_code_invalid.
func (s *Service) Restore(ctx context.Context, p *identity.Principal, id uuid.UUID, n int) (*WithLastRun, error) {
	f, err := s.repo.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	v, err := s.repo.Version(ctx, id, n)
	if err != nil {
		return nil, err
	}
	info, err := s.analyze(ctx, f.Name, v.Code)
	if err != nil {
		return nil, err
	}
	err = inTx(ctx, s.db, func(ctx context.Context, r *Repository) error {
		f, err := r.Lock(ctx, id)
		if err != nil {
			return err
		}
		cols := newVersion(f, v.Code, info)
		if err := r.InsertVersion(ctx, &Version{FunctionID: f.ID, VersionNumber: f.VersionNumber, Code: f.Code, CreatedBy: &p.ID}); err != nil {
			return err
		}
		if err := r.Update(ctx, f, cols...); err != nil {
			return err
		}
		return r.SyncState(ctx, f)
	})
	if err != nil {
		return nil, err
	}
	s.forget(f.Name)
	return s.repo.Get(ctx, id)
}

// Delete removes a function with its versions, env, runs and trigger
// state. Errors: function_not_found.
func (s *Service) Delete(ctx context.Context, id uuid.UUID) error {
	f, err := s.repo.HeaderByID(ctx, id)
	if err != nil {
		return err
	}
	if err := s.repo.Delete(ctx, id); err != nil {
		return err
	}
	s.forget(f.Name)
	s.rt.drop(ctx, id)
	s.metrics.forget(f.Name)
	return nil
}

// DeleteUserData deletes every function userID owns (users.OwnedData).
func (s *Service) DeleteUserData(ctx context.Context, userID uuid.UUID) error {
	ids, err := s.repo.IDsByOwner(ctx, userID)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := s.Delete(ctx, id); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	return nil
}

// Versions lists a function's versions, newest first. Errors: function_not_found.
func (s *Service) Versions(ctx context.Context, id uuid.UUID) ([]Version, error) {
	if _, err := s.repo.HeaderByID(ctx, id); err != nil {
		return nil, err
	}
	return s.repo.Versions(ctx, id)
}

// Env lists a function's env vars (secrets masked by the wire shape).
// Errors: function_not_found.
func (s *Service) Env(ctx context.Context, id uuid.UUID) ([]EnvVar, error) {
	if _, err := s.repo.HeaderByID(ctx, id); err != nil {
		return nil, err
	}
	return s.repo.Env(ctx, id)
}

// CreateEnv adds an env var. Errors: function_not_found, env_var_exists,
// invalid_env_key.
func (s *Service) CreateEnv(ctx context.Context, id uuid.UUID, key, value string, secret bool) (*EnvVar, error) {
	e := &EnvVar{FunctionID: id, Key: key, Value: value, IsSecret: secret}
	var name string
	err := inTx(ctx, s.db, func(ctx context.Context, r *Repository) (err error) {
		if name, err = r.BumpEnv(ctx, id); err != nil {
			return err
		}
		return r.InsertEnv(ctx, e)
	})
	s.forget(name)
	return e, err
}

// UpdateEnv changes an env var; nil fields stay, and a secret's masked
// value sent back unchanged keeps the secret. Errors: function_not_found,
// env_var_not_found, env_var_exists, invalid_env_key.
func (s *Service) UpdateEnv(ctx context.Context, id, envID uuid.UUID, req EnvRequest) (*EnvVar, error) {
	var e *EnvVar
	var name string
	err := inTx(ctx, s.db, func(ctx context.Context, r *Repository) (err error) {
		if name, err = r.BumpEnv(ctx, id); err != nil {
			return err
		}
		if e, err = r.EnvVar(ctx, id, envID); err != nil {
			return err
		}
		if req.Key != nil {
			e.Key = *req.Key
		}
		if req.Value != nil && !(e.IsSecret && *req.Value == Masked) {
			e.Value = *req.Value
		}
		if req.IsSecret != nil {
			e.IsSecret = *req.IsSecret
		}
		return r.UpdateEnv(ctx, e)
	})
	s.forget(name)
	return e, err
}

// DeleteEnv removes an env var. Errors: function_not_found, env_var_not_found.
func (s *Service) DeleteEnv(ctx context.Context, id, envID uuid.UUID) error {
	var name string
	err := inTx(ctx, s.db, func(ctx context.Context, r *Repository) (err error) {
		if name, err = r.BumpEnv(ctx, id); err != nil {
			return err
		}
		return r.DeleteEnv(ctx, id, envID)
	})
	s.forget(name)
	return err
}

// Runs lists a function's latest runs. Errors: function_not_found.
func (s *Service) Runs(ctx context.Context, id uuid.UUID, limit int) ([]Run, error) {
	if _, err := s.repo.HeaderByID(ctx, id); err != nil {
		return nil, err
	}
	return s.repo.Runs(ctx, id, limit)
}

// analyzePending reads the triggers of code saved while no runtime could;
// it runs each time a runtime starts (on every instance: the writes are
// idempotent).
func (s *Service) analyzePending(ctx context.Context) {
	fs, err := s.repo.Unanalyzed(ctx)
	if err != nil {
		s.log.Warn("functions awaiting analysis not listed", zap.Error(err))
		return
	}
	for _, f := range fs {
		info, err := s.analyze(ctx, f.Name, f.Code)
		var ts []Trigger
		switch {
		case err == nil && info.analyzed:
			ts = info.triggers
		case err == nil || errors.Is(err, ErrUnavailable) || ctx.Err() != nil:
			return // the runtime went away again; the next one reads them
		default:
			// Saved unchecked and broken: it declares nothing; its runs
			// will report the error.
			s.log.Warn("function code saved without a runtime does not load", zap.String("function", f.Name), zap.Error(err))
			ts = []Trigger{}
		}
		err = inTx(ctx, s.db, func(ctx context.Context, r *Repository) error {
			ok, err := r.SetCodeTriggers(ctx, f.ID, f.VersionNumber, ts)
			if err != nil || !ok {
				return err
			}
			f.CodeTriggers = ts
			return r.SyncState(ctx, f)
		})
		s.forget(f.Name)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("function analysis not saved", zap.String("function", f.Name), zap.Error(err))
		}
	}
}
