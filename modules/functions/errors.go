package functions

import "github.com/selfdb/selfdb/platform/apperr"

// The module's errors (api.md §9).
var (
	// ErrNotFound is an unknown function id or name (or an inactive function, to callers).
	ErrNotFound = apperr.NotFound("function_not_found", "Function not found")
	// ErrExists is a taken function name.
	ErrExists = apperr.Invalid("function_exists", "Function with this name already exists")
	// ErrInvalidName is a name outside ^[a-z0-9][a-z0-9-_]{0,62}$.
	ErrInvalidName = apperr.Invalid("invalid_function_name",
		"Function name must be 1-63 characters of a-z, 0-9, '-' and '_', starting with a letter or digit")
	// ErrCodeInvalid is code that does not compile or load; the body carries
	// the compiler's message, line and column.
	ErrCodeInvalid = apperr.Invalid("function_code_invalid", "Function code does not compile")
	// ErrInvalidTrigger is a trigger that can't be used.
	ErrInvalidTrigger = apperr.Invalid("invalid_trigger", "Invalid trigger")
	// ErrInvalidTimeout is a timeout_ms outside 100-3600000.
	ErrInvalidTimeout = apperr.Invalid("invalid_timeout", "timeout_ms must be between 100 and 3600000")
	// ErrInvalidPolicy is an invoke_policy other than public, authenticated, superuser.
	ErrInvalidPolicy = apperr.Invalid("invalid_invoke_policy", "invoke_policy must be public, authenticated or superuser")
	// ErrVersionNotFound is an unknown version number.
	ErrVersionNotFound = apperr.NotFound("version_not_found", "Version not found")
	// ErrEnvNotFound is an unknown env var id.
	ErrEnvNotFound = apperr.NotFound("env_var_not_found", "Environment variable not found")
	// ErrEnvExists is an env var key the function already has.
	ErrEnvExists = apperr.Invalid("env_var_exists", "Environment variable with this key already exists")
	// ErrInvalidEnvKey is a key that is not an identifier.
	ErrInvalidEnvKey = apperr.Invalid("invalid_env_key",
		"Environment variable keys must be 1-128 characters of letters, digits and '_', not starting with a digit")
	// ErrTemplateNotFound is an unknown template type.
	ErrTemplateNotFound = apperr.NotFound("template_not_found", "Template not found")
	// ErrNotInvocable is an HTTP call of a function without an http trigger.
	ErrNotInvocable = apperr.NotFound("function_not_invocable", "Function has no HTTP trigger")
	// ErrMethodNotAllowed is a method the function's http triggers don't accept.
	ErrMethodNotAllowed = apperr.New(apperr.KindMethodNotAllowed, "function_method_not_allowed", "Method Not Allowed")
	// ErrUnavailable is an invocation while the runtime can't run code.
	ErrUnavailable = apperr.Unavailable("functions_unavailable", "functions runtime unavailable").WithHeader("Retry-After", "2")
)
