package importpython

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/selfdb/selfdb/modules/files"
)

// pendingForever is the upload expiry of a file imported without its
// bytes: the janitor deletes pending rows whose upload URL expired, and
// this one has no URL; it stays pending until a later run finds its bytes.
var pendingForever = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// bucketName is the Go server's rule for bucket names (selfdb.buckets' check).
var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// storagePlan is what a run writes to buckets and files.
type storagePlan struct {
	buckets objectDiff[bucketRow]
	files   objectDiff[fileRow]
	// copies are the files whose bytes this run copies, by id.
	copies []*fileCopy
	// gone are the bytes to remove once the rows are committed.
	gone    []fileRow
	missing []string // files whose bytes are not in the storage directory
}

// fileCopy is one file's bytes to copy.
type fileCopy struct {
	id       uuid.UUID
	bucketID uuid.UUID
	object   string
	filename string
	path     string // on the source
	bucket   string // its bucket's name, for progress lines
	always   bool   // copy even though the row does not change
	stored   *files.Stored
}

// planStorage compares the source's buckets and files with the target's
// and finds which bytes to copy. It reads the storage directory's metadata
// (stat), not the bytes.
func (im *importer) planStorage(ctx context.Context, snap *snapshot, ap *accountsPlan) (*storagePlan, error) {
	sp := &storagePlan{}
	actualBuckets, err := loadAll[bucketRow](ctx, im.tgt)
	if err != nil {
		return nil, err
	}
	var buckets []bucketRow
	byID := map[uuid.UUID]pyBucket{}
	byName := map[string]pyBucket{}
	for _, b := range snap.buckets {
		byID[b.ID], byName[b.Name] = b, b
		if !bucketName.MatchString(b.Name) || strings.Contains(b.Name, "..") {
			im.problems.add("bucket %s (id %s): the name is not valid in SelfDB Go (3-63 of a-z 0-9 . -, starting and ending with a letter or digit); rename it on the Python side", b.Name, b.ID)
		}
		if !ap.userIDs[b.OwnerID] {
			im.problems.add("bucket %s (id %s): its owner %s is not a user of the source", b.Name, b.ID, b.OwnerID)
		}
		buckets = append(buckets, bucketRow{ID: b.ID, Name: b.Name, Description: b.Description, IsPublic: b.IsPublic,
			OwnerID: b.OwnerID, CreatedAt: b.CreatedAt, UpdatedAt: b.UpdatedAt})
	}
	for _, a := range actualBuckets {
		if b, ok := byName[a.Name]; ok && b.ID != a.ID && !im.state.has(kindBucket, a.key()) {
			im.problems.add("the target already has a bucket named %s (id %s) that the import did not create; the Python bucket of that name has id %s", a.Name, a.ID, b.ID)
		}
	}
	sp.buckets = diffObjects(im, kindBucket, "bucket", buckets, actualBuckets)

	actualFiles, err := loadAll[fileRow](ctx, im.tgt)
	if err != nil {
		return nil, err
	}
	objects := map[string]fileRow{}
	for _, a := range actualFiles {
		objects[a.BucketID.String()+"/"+a.ObjectName] = a
	}
	var rows []fileRow
	for _, f := range snap.files {
		b, ok := pyBucketOf(f, byID, byName)
		if !ok {
			im.out.line("warning: file %s (%s) belongs to no bucket of the source; not imported", f.ID, f.Filename)
			continue
		}
		if !files.ValidObjectName(f.ObjectName) {
			im.problems.add("file %s (%s/%s): object name %q is not valid in SelfDB Go", f.ID, b.Name, f.Filename, f.ObjectName)
			continue
		}
		if a, ok := objects[b.ID.String()+"/"+f.ObjectName]; ok && a.ID != f.ID && !im.state.has(kindFile, a.key()) {
			im.problems.add("the target already has a file %s/%s (id %s) that the import did not create; the Python file has id %s", b.Name, f.ObjectName, a.ID, f.ID)
			continue
		}
		row := fileRow{ID: f.ID, BucketID: b.ID, ObjectName: f.ObjectName, Filename: f.Filename, ContentType: f.ContentType,
			OwnerID: f.OwnerID, CreatedAt: f.CreatedAt, UpdatedAt: f.UpdatedAt}
		path, size, found := im.locate(f, b)
		actual, had := actualFiles[f.ID.String()]
		ready := had && actual.Status == files.StatusReady
		if ready && found && size == actual.Size && !im.holds(actual) {
			// Ready, but its bytes are gone from STORAGE_PATH (a failed
			// copy, a janitor that ran during the import): copy them again.
			im.out.line("warning: file %s (%s/%s): ready on the target but its bytes are missing there; copying them again", f.ID, b.Name, f.Filename)
			sp.copies = append(sp.copies, &fileCopy{id: f.ID, bucketID: b.ID, object: f.ObjectName, filename: f.Filename, path: path, bucket: b.Name, always: true})
		}
		switch {
		case ready && (!found || size == actual.Size):
			// Bytes already here (Python never rewrites an object).
			row.Status, row.Size, row.ChecksumSHA256, row.UploadExpiresAt = actual.Status, actual.Size, actual.ChecksumSHA256, actual.UploadExpiresAt
			if !found {
				im.out.line("warning: file %s (%s/%s): its bytes are gone from the source's storage; the imported bytes stay", f.ID, b.Name, f.Filename)
			}
		case ready:
			im.out.line("warning: file %s (%s/%s): the source's bytes (%d bytes) differ from the imported ones (%d); the Python version never rewrites an object, so the imported bytes stay (--verify reports it)",
				f.ID, b.Name, f.Filename, size, actual.Size)
			row.Status, row.Size, row.ChecksumSHA256, row.UploadExpiresAt = actual.Status, actual.Size, actual.ChecksumSHA256, actual.UploadExpiresAt
		case found:
			// Size and checksum come from the copy (copyBytes).
			row.Status, row.Size, row.UploadExpiresAt = files.StatusReady, size, pendingForever
			sp.copies = append(sp.copies, &fileCopy{id: f.ID, bucketID: b.ID, object: f.ObjectName, filename: f.Filename, path: path, bucket: b.Name})
		default:
			declared := int64(0)
			if f.Size != nil && *f.Size >= 0 {
				declared = *f.Size
			}
			row.Status, row.Size, row.DeclaredSize, row.UploadExpiresAt = files.StatusPending, declared, &declared, pendingForever
			sp.missing = append(sp.missing, fmt.Sprintf("file %s (%s/%s): no bytes at %s; imported as pending (never ready), a later run takes the bytes if they appear",
				f.ID, b.Name, f.Filename, path))
		}
		rows = append(rows, row)
	}
	sp.files = diffObjects(im, kindFile, "file", rows, actualFiles)
	// A copy is needed only for files the diff writes.
	writes := map[uuid.UUID]bool{}
	for _, r := range sp.files.upserts {
		writes[r.ID] = true
	}
	kept := sp.copies[:0]
	for _, c := range sp.copies {
		if writes[c.id] || c.always {
			kept = append(kept, c)
		}
	}
	sp.copies = kept
	for _, id := range sp.files.deletes {
		sp.gone = append(sp.gone, actualFiles[id.String()])
	}
	return sp, nil
}

// holds reports whether STORAGE_PATH holds a ready file's bytes (by size).
func (im *importer) holds(f fileRow) bool {
	st, err := os.Stat(filepath.Join(im.cfg.StoragePath, f.BucketID.String(), f.ObjectName))
	return err == nil && st.Mode().IsRegular() && st.Size() == f.Size
}

// pyBucketOf finds a file's bucket, by id or (older rows) by name.
func pyBucketOf(f pyFile, byID map[uuid.UUID]pyBucket, byName map[string]pyBucket) (pyBucket, bool) {
	if f.BucketID != nil {
		b, ok := byID[*f.BucketID]
		return b, ok
	}
	b, ok := byName[f.BucketName]
	return b, ok
}

// locate finds a file's bytes in the storage directory: under the file's
// bucket name, its bucket's storage name or its bucket's name.
func (im *importer) locate(f pyFile, b pyBucket) (path string, size int64, found bool) {
	var first string
	for _, dir := range []string{f.BucketName, b.Storage, b.Name} {
		if dir == "" || strings.ContainsAny(dir, `/\`) || dir == "." || dir == ".." {
			continue
		}
		p := filepath.Join(im.opts.FromStorage, dir, f.ObjectName)
		if first == "" {
			first = p
		}
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, st.Size(), true
		}
	}
	return first, 0, false
}

// copyBytes writes the bytes of every file to copy into the store, with
// their size and SHA-256 computed on the way, and a progress line per
// bucket; the rows to write then carry what was stored.
func (im *importer) copyBytes(ctx context.Context, sp *storagePlan) error {
	sort.SliceStable(sp.copies, func(i, j int) bool { return sp.copies[i].bucket < sp.copies[j].bucket })
	var bucket string
	var n int
	var bytes int64
	start := time.Now()
	flush := func() {
		if n > 0 {
			im.out.line("bucket %s: %d files, %s copied", bucket, n, human(bytes))
		}
	}
	lastProgress := time.Now()
	stored := map[uuid.UUID]*files.Stored{}
	for _, c := range sp.copies {
		if c.bucket != bucket {
			flush()
			bucket, n, bytes = c.bucket, 0, 0
		}
		st, err := im.putFile(ctx, c)
		if err != nil {
			return fmt.Errorf("file %s (%s/%s): %w", c.id, c.bucket, c.filename, err)
		}
		c.stored = &st
		stored[c.id] = &st
		n++
		bytes += st.Size
		im.stats.files++
		im.stats.fileBytes += st.Size
		if time.Since(lastProgress) > 5*time.Second {
			lastProgress = time.Now()
			im.out.line("  bucket %s: %d files so far, %s (%s/s overall)", bucket, n, human(bytes),
				human(int64(float64(im.stats.fileBytes)/time.Since(start).Seconds())))
		}
	}
	flush()
	for i := range sp.files.upserts {
		r := &sp.files.upserts[i]
		if st := stored[r.ID]; st != nil {
			sum := st.SHA256
			r.Size, r.ChecksumSHA256 = st.Size, &sum
		}
	}
	return nil
}

// putFile stores one file's bytes.
func (im *importer) putFile(ctx context.Context, c *fileCopy) (files.Stored, error) {
	for attempt := 0; ; attempt++ {
		f, err := os.Open(c.path)
		if err != nil {
			return files.Stored{}, err
		}
		stored, err := im.store.Put(ctx, c.bucketID, c.object, f, 1<<62)
		f.Close()
		if errors.Is(err, files.ErrObjectExists) && attempt == 0 {
			// No committed row says these bytes are ready (the plan copies
			// only for new or pending rows): an earlier run that failed
			// after writing them left them.
			if err := im.store.Delete(ctx, c.bucketID, c.object); err != nil {
				return files.Stored{}, err
			}
			continue
		}
		return stored, err
	}
}

// unstore removes the bytes this run wrote (the run failed).
func (im *importer) unstore(sp *storagePlan) {
	if sp == nil {
		return
	}
	for _, c := range sp.copies {
		if c.stored != nil {
			_ = im.store.Delete(context.Background(), c.bucketID, c.object)
		}
	}
}

// removeGone removes the bytes of deleted files, once their rows are gone.
func (im *importer) removeGone(ctx context.Context, sp *storagePlan) {
	for _, f := range sp.gone {
		if err := im.store.Delete(ctx, f.BucketID, f.ObjectName); err != nil {
			im.out.line("warning: removing the bytes of deleted file %s: %v", f.ID, err)
		}
	}
}

// applyBuckets writes the buckets (after their owners, before their files).
func (im *importer) applyBuckets(ctx context.Context, sp *storagePlan) error {
	return upsert(ctx, im.tgt, sp.buckets.upserts, "name", "description", "is_public", "owner_id", "created_at", "updated_at")
}

// applyFiles writes the file rows (their bytes are in place).
func (im *importer) applyFiles(ctx context.Context, sp *storagePlan) error {
	if err := deleteIDs(ctx, im.tgt, "selfdb.files", sp.files.deletes); err != nil {
		return err
	}
	return upsert(ctx, im.tgt, sp.files.upserts, "bucket_id", "object_name", "filename", "content_type", "size", "declared_size",
		"checksum_sha256", "status", "owner_id", "upload_expires_at", "created_at", "updated_at")
}

// deleteBuckets deletes the buckets gone from the source (after their files).
func (im *importer) deleteBuckets(ctx context.Context, sp *storagePlan) error {
	return deleteIDs(ctx, im.tgt, "selfdb.buckets", sp.buckets.deletes)
}

// hashFile is the size and SHA-256 of a file on disk.
func hashFile(path string) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return 0, "", fs.ErrNotExist
		}
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.CopyBuffer(h, f, make([]byte, 256<<10))
	if err != nil {
		return 0, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// human prints a byte count.
func human(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
