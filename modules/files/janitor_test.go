package files_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/selfdb/selfdb/modules/auth"
	"github.com/selfdb/selfdb/modules/buckets"
	"github.com/selfdb/selfdb/modules/files"
	"github.com/selfdb/selfdb/modules/users"
	"github.com/selfdb/selfdb/platform/testkit"
)

// plantTemp writes an upload temp file into a bucket's directory, last
// modified age ago.
func (e *env) plantTemp(t *testing.T, bucketID, name string, age time.Duration) string {
	t.Helper()
	dir := filepath.Join(e.storage(), bucketID)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, ".upload-"+name+".tmp")
	if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-age)
	if err := os.Chtimes(p, at, at); err != nil {
		t.Fatal(err)
	}
	return p
}

// temps lists the upload temp files in a bucket's directory.
func (e *env) temps(t *testing.T, bucketID string) []string {
	t.Helper()
	var out []string
	for _, n := range e.bucketDirEntries(t, bucketID) {
		if strings.HasPrefix(n, ".upload-") {
			out = append(out, n)
		}
	}
	return out
}

// waitGone polls until p is gone (did not hang: 10s).
func waitGone(t *testing.T, p, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for exists(p) {
		if time.Now().After(deadline) {
			t.Fatalf("%s still there", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A crash leaves temp files behind; an instance starting on the volume
// removes the dead ones at once (not after SIGNED_URL_TTL, nor after its
// first interval), before it needs the database.
func TestDeadTempFilesGoAtStart(t *testing.T) {
	t.Parallel()
	e := start(t)
	dead := e.plantTemp(t, e.pub.ID, "crashed", 10*time.Second)
	// Another instance on the same volume: HTTP_READ_TIMEOUT=1s makes a temp
	// file untouched for 3s dead; its janitor's next tick is an hour away.
	testkit.Start(t, testkit.With(auth.Module, users.Module, buckets.Module, files.Module),
		testkit.Env("STORAGE_PATH", e.storage(), "HTTP_READ_TIMEOUT", "1s", "STORAGE_CLEANUP_INTERVAL", "1h"))
	waitGone(t, dead, "a temp file dead for 10s, after a start with a 3s cutoff,")
}

// The cutoff is twice HTTP_READ_TIMEOUT: a temp file untouched for just less
// may still belong to a live upload and stays; just more is dead.
func TestTempCutoff(t *testing.T) {
	t.Parallel()
	e := start(t, "HTTP_READ_TIMEOUT", "10s")
	now := time.Now()
	inside := e.plantTemp(t, e.pub.ID, "inside", 0)
	outside := e.plantTemp(t, e.pub.ID, "outside", 0)
	for p, age := range map[string]time.Duration{inside: 19 * time.Second, outside: 21 * time.Second} {
		if err := os.Chtimes(p, now.Add(-age), now.Add(-age)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.svc.Cleanup(context.Background(), now); err != nil {
		t.Fatal(err)
	}
	if !exists(inside) {
		t.Error("a temp file untouched for 19s (cutoff 20s) was removed")
	}
	if exists(outside) {
		t.Error("a temp file untouched for 21s (cutoff 20s) survived")
	}
}

// An upload from a slow client keeps its temp file alive through many janitor
// runs, longer than the cutoff, and then completes. Meanwhile the janitor
// does remove a dead temp file beside it.
func TestSlowUploadSurvivesTheJanitor(t *testing.T) {
	t.Parallel()
	// Cutoff 1s + 2s = 3s; the upload trickles for about 5s.
	e := start(t, "HTTP_READ_TIMEOUT", "1s", "STORAGE_CLEANUP_INTERVAL", "50ms")
	u := e.initiate(t, e.alice.Token, e.pub.ID, "slow.bin")
	head := randomBytes(t, 64<<10) // past fasthttp's 8 KiB prefetch: the handler runs and streams
	tail := randomBytes(t, 20)
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.URL(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "PUT %s HTTP/1.1\r\nHost: selfdb.test\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n", u.Path, len(head)+len(tail))
	if _, err := conn.Write(head); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(e.temps(t, e.pub.ID)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the upload never reached the disk")
		}
		time.Sleep(10 * time.Millisecond)
	}
	temp := e.temps(t, e.pub.ID)[0]
	var dead string
	for i, b := range tail {
		time.Sleep(250 * time.Millisecond)
		if _, err := conn.Write([]byte{b}); err != nil {
			t.Fatalf("byte %d: %v", i, err)
		}
		// After the last byte the upload completes and its temp file goes.
		if got := e.temps(t, e.pub.ID); i < len(tail)-1 && !slices.Contains(got, temp) {
			t.Fatalf("after %d trickled bytes the upload's temp file %s is gone (temps: %v)", i+1, temp, got)
		}
		if i == len(tail)/2 {
			dead = e.plantTemp(t, e.pub.ID, "dead", time.Hour)
		}
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("slow upload: %d", resp.StatusCode)
	}
	if exists(dead) {
		t.Error("the janitor did not remove a dead temp file while the upload ran")
	}
	sameBytes(t, e.Do(t, noKeyGet("/files/download/"+e.pub.Name+"/"+u.Object, nil)).Expect(t, 200).Body, append(head, tail...))
}
