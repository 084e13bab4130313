package sqlconsole

import "github.com/selfdb/selfdb/platform/apperr"

// The sqlconsole module's errors (api.md §7).
var (
	// ErrSnippetNotFound is a snippet that doesn't exist or isn't the caller's.
	ErrSnippetNotFound = apperr.NotFound("snippet_not_found", "Snippet not found or you don't have permission to update it")
	// ErrSnippetNotFoundDelete is the delete flavour of ErrSnippetNotFound.
	ErrSnippetNotFoundDelete = ErrSnippetNotFound.WithMessage("Snippet not found or you don't have permission to delete it")
)
