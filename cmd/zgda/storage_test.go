package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zgda/zgda/storage"
)

// TestStorageCheckRepair: a flipped byte mid-log stops Open; 'storage check'
// reports segment and offset and changes nothing; 'storage repair' drops the
// damaged record, saying so; the records after it read back.
func TestStorageCheckRepair(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "live")
	vol := filepath.Join(live, "vol0")
	if err := os.MkdirAll(vol, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := storage.DefaultConfig(live)
	cfg.Dir = filepath.Join(live, "meta")
	cfg.Volumes.Paths = []string{vol}
	cfg.Log.CheckpointInterval = time.Hour
	st, err := storage.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	big := []byte(strings.Repeat("x", 20_000))
	for _, k := range []string{"k1", "k2", "k3"} {
		if err := st.Put(ctx, []byte(k), big); err != nil {
			t.Fatal(err)
		}
	}
	seg := st.Stats().ActiveSegment
	// A copy taken now is what a crash leaves: the writes are fsync'd, the
	// index checkpoint is still at the start of the segment.
	crash := filepath.Join(dir, "crash")
	if err := os.CopyFS(crash, os.DirFS(live)); err != nil {
		t.Fatal(err)
	}
	st.Close()
	os.Remove(filepath.Join(crash, "meta", "LOCK"))
	segPath := filepath.Join(crash, "vol0", "segments", filepath.Base(segFile(t, filepath.Join(vol, "segments"), seg)))
	f, err := os.OpenFile(segPath, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1)
	f.ReadAt(b, 1000) // inside k1, the segment's first record
	b[0] ^= 0xff
	f.WriteAt(b, 1000)
	f.Close()

	args := []string{"--dir", filepath.Join(crash, "meta"), "--volume", filepath.Join(crash, "vol0")}
	ccfg := cfg
	ccfg.Dir, ccfg.Volumes.Paths = args[1], []string{args[3]}
	if _, err := storage.Open(ccfg); !errors.Is(err, storage.ErrCorrupt) {
		t.Fatalf("Open over a damaged record: %v", err)
	}
	out, err := run(t, append([]string{"storage", "check"}, args...)...)
	if err == nil || !strings.Contains(out, `"offset": 0`) || !strings.Contains(out, "checksum mismatch") {
		t.Fatalf("check: %v\n%s", err, out)
	}
	if _, err := run(t, append([]string{"storage", "check"}, args...)...); err == nil {
		t.Fatal("check repaired the log")
	}
	out, err = run(t, append([]string{"storage", "repair"}, args...)...)
	if err != nil || !strings.Contains(out, "checksum mismatch") {
		t.Fatalf("repair: %v\n%s", err, out)
	}
	if out, err := run(t, append([]string{"storage", "check"}, args...)...); err != nil {
		t.Fatalf("check after repair: %v\n%s", err, out)
	}
	// The index rebuilt from the volumes alone holds the same.
	out, err = run(t, append([]string{"storage", "rebuild-index"}, args...)...)
	if err != nil || !strings.Contains(out, `"keys": 2`) || !strings.Contains(out, "moved_aside") {
		t.Fatalf("rebuild-index: %v\n%s", err, out)
	}
	st, err = storage.Open(ccfg)
	if err != nil {
		t.Fatalf("Open after repair: %v", err)
	}
	defer st.Close()
	if _, err := st.Get(ctx, []byte("k1")); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("k1 after repair: %v", err)
	}
	for _, k := range []string{"k2", "k3"} {
		if v, err := st.Get(ctx, []byte(k)); err != nil || string(v) != string(big) {
			t.Fatalf("%s after repair: %v", k, err)
		}
	}
}

// segFile returns the path of segment id in dir.
func segFile(t *testing.T, dir string, id uint64) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		var got uint64
		name := strings.TrimSuffix(e.Name(), ".zseg")
		if len(name) == 16 {
			for _, c := range name {
				got = got<<4 | uint64(strings.IndexRune("0123456789abcdef", c))
			}
			if got == id {
				return filepath.Join(dir, e.Name())
			}
		}
	}
	t.Fatalf("segment %d not in %s", id, dir)
	return ""
}
