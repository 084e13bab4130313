package files

import (
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// Bytes left under the old default STORAGE_PATH (./data/storage) while the
// default (.data/storage) holds nothing are pointed out at start, once the
// default changed; nothing is said otherwise.
func TestWarnOldStorageDefault(t *testing.T) {
	t.Chdir(t.TempDir())
	warned := func(path string) bool {
		core, logs := observer.New(zap.WarnLevel)
		warnOldStorageDefault(path, zap.New(core))
		return logs.Len() > 0
	}
	if warned(".data/storage") {
		t.Error("warned with no old directory")
	}
	if err := os.MkdirAll(filepath.Join("data", "storage", "b0c1b1f0-0000-4000-8000-000000000000"), 0o750); err != nil {
		t.Fatal(err)
	}
	if !warned(".data/storage") || !warned("./.data/storage") {
		t.Error("bytes under ./data/storage not pointed out")
	}
	if warned("/srv/selfdb") || warned("data/storage") {
		t.Error("warned although STORAGE_PATH is set")
	}
	if err := os.MkdirAll(filepath.Join(".data", "storage", "b0c1b1f0-0000-4000-8000-000000000001"), 0o750); err != nil {
		t.Fatal(err)
	}
	if warned(".data/storage") {
		t.Error("warned although the new default is in use")
	}
}
