package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// loadDotEnv sets the variables of a .env file (path) that the environment
// does not hold yet: the real environment wins, and a missing file is no
// error. The format is the simple one configs/selfdb.example.env uses:
// KEY=VALUE lines, blank lines and # comment lines, an optional leading
// "export ", and a value in matching single or double quotes taken as it is
// between them. No inline comments (a # may be part of a password), escapes
// or ${} expansion.
func loadDotEnv(path string) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || !envName(k) {
			return fmt.Errorf("%s line %d: want KEY=VALUE, got %q", path, i+1, line)
		}
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		if _, set := os.LookupEnv(k); !set {
			if err := os.Setenv(k, v); err != nil {
				return fmt.Errorf("%s line %d: %w", path, i+1, err)
			}
		}
	}
	return nil
}

// envName reports whether k is a variable name: letters, digits and _, not
// starting with a digit.
func envName(k string) bool {
	if k == "" || k[0] >= '0' && k[0] <= '9' {
		return false
	}
	for _, c := range k {
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
