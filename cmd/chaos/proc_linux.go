package main

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes a child (a selfdb instance) die with this process, so
// that no instance outlives a killed run.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
