package functions

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// installedDeno lists where `make run` and `make test` install Deno (npm
// package deno: its postinstall links the binary beside it, else it stays in
// the platform's package), relative to the working directory and to the
// directory of the selfdb binary; patterns as filepath.Glob reads them.
var installedDeno = []string{
	"bin/tools/deno/node_modules/deno/deno",
	"bin/tools/deno/node_modules/@deno/*/deno",
	"tools/deno/node_modules/deno/deno",
	"tools/deno/node_modules/@deno/*/deno",
}

// errNoDeno explains how to get a runtime; invocations answer 503 with it.
var errNoDeno = errors.New("no Deno binary found: install it (`make run` does, or `npm install -g deno`) " +
	"or set DENO_PATH to the deno binary, then restart the server")

// FindDeno returns the Deno binary to run: DENO_PATH when set, else deno on
// PATH, else a copy installed under bin/tools/deno.
func FindDeno(denoPath string) (string, error) {
	if denoPath != "" {
		if err := executable(denoPath); err != nil {
			return "", fmt.Errorf("DENO_PATH=%s: %v; %w", denoPath, err, errNoDeno)
		}
		return denoPath, nil
	}
	if p, err := exec.LookPath("deno"); err == nil {
		return p, nil
	}
	var dirs []string
	if wd, err := os.Getwd(); err == nil {
		dirs = append(dirs, wd)
	}
	if exe, err := os.Executable(); err == nil {
		dirs = append(dirs, filepath.Dir(exe))
	}
	for _, d := range dirs {
		for _, pattern := range installedDeno {
			matches, _ := filepath.Glob(filepath.Join(d, pattern))
			for _, p := range matches {
				if executable(p) == nil {
					return p, nil
				}
			}
		}
	}
	return "", errNoDeno
}

func executable(p string) error {
	st, err := os.Stat(p)
	if err != nil {
		return err
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return errors.New("not an executable file")
	}
	return nil
}
