//go:build !linux

package main

import "os/exec"

// dieWithParent does nothing here: only Linux kills children with their
// parent; .ci/chaos.sh stops the instances on exit anyway.
func dieWithParent(*exec.Cmd) {}
