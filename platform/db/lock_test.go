package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/selfdb/selfdb/platform/db"
	"github.com/selfdb/selfdb/platform/testkit"
)

// While one instance holds a job's lock, another skips the job at once (it
// neither waits nor runs it); the lock ends with the first one's transaction.
func TestWithAdvisoryLockRunsOnceAcrossPools(t *testing.T) {
	url := testkit.DatabaseURL()
	a, b := testkit.OpenDB(t, url), testkit.OpenDB(t, url)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	inside := make(chan struct{})
	release := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		ran, err := db.WithAdvisoryLock(ctx, a, "test.job", func(ctx context.Context, tx bun.Tx) error {
			close(inside)
			<-release
			_, err := tx.ExecContext(ctx, "SELECT 1")
			return err
		})
		if err == nil && !ran {
			t.Error("the first caller did not run the job")
		}
		done <- err
	}()
	<-inside
	start := time.Now()
	ran, err := db.WithAdvisoryLock(ctx, b, "test.job", func(context.Context, bun.Tx) error {
		t.Error("the job ran twice at once")
		return nil
	})
	if err != nil || ran {
		t.Fatalf("second caller: ran=%v err=%v, want skipped", ran, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("second caller waited %s for the lock", d)
	}
	// Another job name is another lock.
	if ran, err := db.WithAdvisoryLock(ctx, b, "test.other-job", func(context.Context, bun.Tx) error { return nil }); err != nil || !ran {
		t.Errorf("other job: ran=%v err=%v", ran, err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if ran, err := db.WithAdvisoryLock(ctx, b, "test.job", func(context.Context, bun.Tx) error { return nil }); err != nil || !ran {
		t.Errorf("after release: ran=%v err=%v", ran, err)
	}
}
