package events

import (
	"fmt"
	"strconv"
	"strings"
)

// snapshot is a Postgres pg_snapshot ("xmin:xmax:xip,...").
type snapshot struct {
	xmin, xmax uint64
	xip        []uint64
}

func parseSnapshot(s string) (snapshot, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return snapshot{}, fmt.Errorf("events: bad snapshot %q", s)
	}
	var snap snapshot
	var err error
	if snap.xmin, err = strconv.ParseUint(parts[0], 10, 64); err != nil {
		return snapshot{}, fmt.Errorf("events: bad snapshot %q", s)
	}
	if snap.xmax, err = strconv.ParseUint(parts[1], 10, 64); err != nil {
		return snapshot{}, fmt.Errorf("events: bad snapshot %q", s)
	}
	if parts[2] != "" {
		for _, x := range strings.Split(parts[2], ",") {
			v, err := strconv.ParseUint(x, 10, 64)
			if err != nil {
				return snapshot{}, fmt.Errorf("events: bad snapshot %q", s)
			}
			snap.xip = append(snap.xip, v)
		}
	}
	return snap, nil
}

// ended reports whether transaction x had ended (committed or aborted) when
// the snapshot was taken.
func (s snapshot) ended(x uint64) bool {
	if x < s.xmin {
		return true
	}
	if x >= s.xmax {
		return false
	}
	for _, r := range s.xip {
		if r == x {
			return false
		}
	}
	return true
}

// allEnded reports whether every transaction of xs had ended.
func (s snapshot) allEnded(xs []uint64) bool {
	for _, x := range xs {
		if !s.ended(x) {
			return false
		}
	}
	return true
}
