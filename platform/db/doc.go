// Package db opens Bun on pgdriver with explicit pool settings, applies the
// embedded migrations under an advisory lock, and owns the one helper that
// turns driver errors (SQLSTATEs) into apperr kinds. The driver choice stays
// inside this package.
package db
