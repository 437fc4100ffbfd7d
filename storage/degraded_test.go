package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Degraded-mode tests: one volume of 4+2 fails on the write path (EIO,
// ENOSPC, a hung disk, an fsync error): writes go on, reads are right, and
// once the fault clears healing restores full redundancy. With m+1 failing
// writes stop with a *QuorumError and nothing acknowledged is lost.

// fault is what faultFS does to one volume's calls.
type fault struct {
	write, sync, read, open error         // returned by WriteAt, syncs, ReadAt, opens and stats
	hang                    chan struct{} // every call blocks until it is closed
	avail                   *uint64       // free bytes reported
	syncFails               *atomic.Int32 // fail this many syncs, then pass
}

// faultFS injects faults per volume directory (or the metadata directory).
type faultFS struct {
	fsys
	mu     sync.Mutex
	faults map[string]*fault
}

func newFaultFS(inner fsys) *faultFS { return &faultFS{fsys: inner, faults: map[string]*fault{}} }

func (f *faultFS) set(dir string, x *fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if old := f.faults[dir]; old != nil && old.hang != nil && (x == nil || x.hang != old.hang) {
		close(old.hang)
	}
	if x == nil {
		delete(f.faults, dir)
		return
	}
	f.faults[dir] = x
}

// get returns the fault for path (nil if none), waiting out a hang first.
func (f *faultFS) get(path string) *fault {
	f.mu.Lock()
	var x *fault
	for dir, y := range f.faults {
		if path == dir || strings.HasPrefix(path, dir+"/") {
			x = y
		}
	}
	f.mu.Unlock()
	if x != nil && x.hang != nil {
		<-x.hang
		return f.get(path)
	}
	return x
}

type faultFile struct {
	file
	fs   *faultFS
	path string
}

func (f *faultFS) OpenFile(name string, create bool) (file, error) {
	if x := f.get(name); x != nil && x.open != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: x.open}
	}
	inner, err := f.fsys.OpenFile(name, create)
	if err != nil {
		return nil, err
	}
	return faultFile{inner, f, name}, nil
}

func (f *faultFS) ReadFile(name string) ([]byte, error) {
	if x := f.get(name); x != nil && (x.open != nil || x.read != nil) {
		return nil, &fs.PathError{Op: "read", Path: name, Err: errors.Join(x.open, x.read)}
	}
	return f.fsys.ReadFile(name)
}

func (f *faultFS) Stat(name string) (fs.FileInfo, error) {
	if x := f.get(name); x != nil && x.open != nil {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: x.open}
	}
	return f.fsys.Stat(name)
}

func (f *faultFS) List(dir string) ([]string, error) {
	if x := f.get(dir); x != nil && x.open != nil {
		return nil, &fs.PathError{Op: "readdir", Path: dir, Err: x.open}
	}
	return f.fsys.List(dir)
}

func (f *faultFS) SyncDir(dir string) error {
	if x := f.get(dir); x != nil && x.sync != nil {
		return &fs.PathError{Op: "fsync", Path: dir, Err: x.sync}
	}
	return f.fsys.SyncDir(dir)
}

func (f *faultFS) Avail(dir string) (uint64, error) {
	if x := f.get(dir); x != nil && x.avail != nil {
		return *x.avail, nil
	}
	return f.fsys.Avail(dir)
}

func (f faultFile) WriteAt(p []byte, off int64) (int, error) {
	if x := f.fs.get(f.path); x != nil && x.write != nil {
		return 0, &fs.PathError{Op: "write", Path: f.path, Err: x.write}
	}
	return f.file.WriteAt(p, off)
}

func (f faultFile) WriteVecAt(bufs [][]byte, off int64) error {
	if x := f.fs.get(f.path); x != nil && x.write != nil {
		return &fs.PathError{Op: "pwritev", Path: f.path, Err: x.write}
	}
	return f.file.WriteVecAt(bufs, off)
}

func (f faultFile) ReadAt(p []byte, off int64) (int, error) {
	if x := f.fs.get(f.path); x != nil && x.read != nil {
		return 0, &fs.PathError{Op: "read", Path: f.path, Err: x.read}
	}
	return f.file.ReadAt(p, off)
}

func (f faultFile) SyncData() error {
	if x := f.fs.get(f.path); x != nil && x.syncFails != nil && x.syncFails.Add(-1) >= 0 {
		return &fs.PathError{Op: "fdatasync", Path: f.path, Err: syscall.EIO}
	}
	if x := f.fs.get(f.path); x != nil && x.sync != nil {
		return &fs.PathError{Op: "fdatasync", Path: f.path, Err: x.sync}
	}
	return f.file.SyncData()
}

func (f faultFile) Sync() error {
	if x := f.fs.get(f.path); x != nil && x.sync != nil {
		return &fs.PathError{Op: "fsync", Path: f.path, Err: x.sync}
	}
	return f.file.Sync()
}

// faultEnv is a 4+2 store on a faultFS.
func faultEnv(t *testing.T) (*testEnv, *faultFS, []Option) {
	env := newEnv(t, storeCase{vols: 6})
	env.cfg.Volumes.IOTimeout = 300 * time.Millisecond
	env.cfg.Volumes.RetryInterval = 20 * time.Millisecond
	ffs := newFaultFS(osFS{})
	t.Cleanup(func() {
		for dir := range ffs.faults {
			ffs.set(dir, nil) // release hung calls
		}
	})
	return env, ffs, []Option{func(o *options) { o.wrapFS = func(fsys) fsys { return ffs } }}
}

// checkRedundancy checks that every volume holds an intact shard of every
// live record.
func checkRedundancy(t *testing.T, s *Store, keys map[string][]byte) {
	t.Helper()
	for k, v := range keys {
		if len(v) <= s.cfg.Log.InlineMax {
			continue
		}
		e, raw := shardBytes(t, s, k)
		for vol, r := range raw {
			if r == nil || crc(r[headerSize:]) != e.CRCs[vol] {
				t.Fatalf("%s: volume %d lacks an intact shard after healing", k, vol)
			}
		}
	}
}

func waitHealed(t *testing.T, s *Store) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		h := s.Health()
		if h.Missing == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("volumes not healed: %+v", h)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestDegradedWrites(t *testing.T) {
	cases := []struct {
		name  string
		fault func() *fault
		says  string
	}{
		{"EIO", func() *fault { return &fault{write: syscall.EIO} }, "input/output error"},
		{"ENOSPC", func() *fault { return &fault{write: syscall.ENOSPC} }, "no space left"},
		{"hung-disk", func() *fault { return &fault{hang: make(chan struct{})} }, "deadline"},
		{"fsync-error", func() *fault { return &fault{sync: syscall.EIO} }, "fdatasync"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env, ffs, opts := faultEnv(t)
			s := env.open(opts...)
			defer func() { s.Close() }()
			ctx := context.Background()
			want := map[string][]byte{}
			put := func(k string, n int) {
				t.Helper()
				want[k] = value(k, 1, n)
				mustPut(t, s, k, want[k])
			}
			for i := 0; i < 8; i++ {
				put(fmt.Sprintf("before/%d", i), 30_000+i*1000)
			}
			const bad = 3
			ffs.set(env.vols[bad], tc.fault())
			start := time.Now()
			for i := 0; i < 20; i++ {
				put(fmt.Sprintf("during/%d", i), 20_000+i*3000)
			}
			var b Batch
			for i := 0; i < 3; i++ {
				k := fmt.Sprintf("batch/%d", i)
				want[k] = value(k, 1, 12_000)
				b.Put([]byte(k), want[k])
			}
			if err := s.Write(ctx, &b); err != nil {
				t.Fatalf("batch with volume %d failing: %v", bad, err)
			}
			t.Logf("21 writes with volume %d failing took %v", bad, time.Since(start))
			h := s.Health()
			if h.Missing != 1 || h.Volumes[bad].State != "offline" || !strings.Contains(h.Volumes[bad].Reason, tc.says) || h.Volumes[bad].HealFrom == nil {
				t.Fatalf("Health: %+v", h)
			}
			for k, v := range want {
				mustGet(t, s, k, v)
			}
			ffs.set(env.vols[bad], nil)
			waitHealed(t, s)
			checkRedundancy(t, s, want)
			if st := s.Stats(); st.Unrecoverable != 0 {
				t.Fatalf("unrecoverable reads: %d", st.Unrecoverable)
			}
			s.Close()
			s = env.open(opts...)
			for k, v := range want {
				mustGet(t, s, k, v)
			}
		})
	}
}

// TestDegradedQuorumLost: with m+1 volumes failing writes stop with a
// QuorumError naming them; nothing acknowledged is lost, and writes resume
// once the volumes are back.
func TestDegradedQuorumLost(t *testing.T) {
	env, ffs, opts := faultEnv(t)
	s := env.open(opts...)
	defer func() { s.Close() }()
	ctx := context.Background()
	want := map[string][]byte{}
	for i := 0; i < 10; i++ {
		k := fmt.Sprintf("acked/%d", i)
		want[k] = value(k, 1, 40_000)
		mustPut(t, s, k, want[k])
	}
	ffs.set(env.vols[1], &fault{write: syscall.EIO})
	k := "degraded/0"
	want[k] = value(k, 1, 40_000)
	mustPut(t, s, k, want[k]) // one missing: still written
	ffs.set(env.vols[2], &fault{sync: syscall.EIO})
	ffs.set(env.vols[4], &fault{write: syscall.ENOSPC})
	var qe *QuorumError
	var refused int
	for i := 0; i < 5; i++ {
		err := s.Put(ctx, []byte(fmt.Sprintf("refused/%d", i)), value("x", 1, 40_000))
		if err == nil {
			continue // the group that found the third failure may still have had a quorum
		}
		refused++
		if !errors.Is(err, ErrTooFewVolumes) || !errors.As(err, &qe) {
			t.Fatalf("Put with 3 of 6 volumes failing: %v; want a *QuorumError", err)
		}
	}
	if refused == 0 || len(qe.Missing) != 3 || qe.Parity != 2 {
		t.Fatalf("refused %d writes; last error %v", refused, qe)
	}
	msg := qe.Error()
	for _, v := range []int{1, 2, 4} {
		if !strings.Contains(msg, env.vols[v]) {
			t.Fatalf("error does not name volume %d: %s", v, msg)
		}
	}
	t.Logf("refused: %s", msg)
	for _, v := range []int{1, 2, 4} {
		ffs.set(env.vols[v], nil)
	}
	waitHealed(t, s)
	for k, v := range want {
		mustGet(t, s, k, v)
	}
	k = "after/0"
	want[k] = value(k, 1, 40_000)
	mustPut(t, s, k, want[k])
	checkRedundancy(t, s, want)
	s.Close()
	s = env.open(opts...)
	for k, v := range want {
		mustGet(t, s, k, v)
	}
}

// TestOpenDegraded: Open works with m volumes missing or failing, saying
// which; they are healed once back.
func TestOpenDegraded(t *testing.T) {
	env, ffs, opts := faultEnv(t)
	s := env.open(opts...)
	want := map[string][]byte{}
	for i := 0; i < 10; i++ {
		k := fmt.Sprintf("k/%d", i)
		want[k] = value(k, 1, 25_000)
		mustPut(t, s, k, want[k])
	}
	s.Close()
	moved := env.vols[2] + ".unmounted"
	if err := os.Rename(env.vols[2], moved); err != nil {
		t.Fatal(err)
	}
	ffs.set(env.vols[5], &fault{open: syscall.EIO, read: syscall.EIO, write: syscall.EIO})
	s = env.open(opts...)
	defer func() { s.Close() }()
	h := s.Health()
	if h.Missing != 2 || h.Volumes[2].State != "offline" || h.Volumes[5].State != "offline" ||
		!strings.Contains(h.Volumes[2].Reason, "does not exist") || !strings.Contains(h.Volumes[5].Reason, "input/output error") {
		t.Fatalf("Health after a degraded Open: %+v", h)
	}
	for k, v := range want {
		mustGet(t, s, k, v)
	}
	for i := 0; i < 5; i++ {
		k := fmt.Sprintf("new/%d", i)
		want[k] = value(k, 1, 25_000)
		mustPut(t, s, k, want[k])
	}
	if err := os.Rename(moved, env.vols[2]); err != nil {
		t.Fatal(err)
	}
	ffs.set(env.vols[5], nil)
	waitHealed(t, s)
	checkRedundancy(t, s, want)

	// m+1 unusable volumes: Open refuses, naming them.
	s.Close()
	for _, v := range []int{0, 1, 3} {
		ffs.set(env.vols[v], &fault{open: syscall.EIO})
	}
	if _, err := Open(env.cfg, opts...); !errors.Is(err, ErrVolumeMismatch) || !strings.Contains(err.Error(), "only 2 can be rebuilt") {
		t.Fatalf("Open with 3 of 6 volumes failing: %v", err)
	}
	for _, v := range []int{0, 1, 3} {
		ffs.set(env.vols[v], nil)
	}
	s = env.open(opts...)
}

// TestFreeSpaceWatermark: a volume below the watermark turns the store
// read-only with a clear error and a metric; writes resume once space
// returns.
func TestFreeSpaceWatermark(t *testing.T) {
	env, ffs, opts := faultEnv(t)
	env.cfg.Volumes.MinFreeBytes = 1 << 20
	reg := prometheus.NewRegistry()
	s := env.open(append(opts, WithRegisterer(reg))...)
	defer s.Close()
	mustPut(t, s, "k", value("k", 1, 20_000))
	low := uint64(1000)
	ffs.set(env.vols[4], &fault{avail: &low})
	waitFor(t, "read-only", func() bool { return s.Health().ReadOnly != "" })
	err := s.Put(context.Background(), []byte("k2"), []byte("v"))
	if !errors.Is(err, ErrReadOnly) || !strings.Contains(err.Error(), env.vols[4]) || !strings.Contains(err.Error(), "min_free_bytes") {
		t.Fatalf("Put below the watermark: %v", err)
	}
	if got := gather(t, reg)["zgda_storage_read_only"]; got != 1 {
		t.Fatalf("zgda_storage_read_only = %v, want 1", got)
	}
	mustGet(t, s, "k", value("k", 1, 20_000))
	ffs.set(env.vols[4], nil)
	waitFor(t, "writable", func() bool { return s.Health().ReadOnly == "" })
	mustPut(t, s, "k2", []byte("v"))
	if got := gather(t, reg)["zgda_storage_read_only"]; got != 0 {
		t.Fatalf("zgda_storage_read_only = %v after space returned", got)
	}
}

// TestMetadataDiskFull: a full metadata disk does not stop the store from
// opening (no panic, no crash loop): it opens read-only and says why.
func TestMetadataDiskFull(t *testing.T) {
	env, ffs, opts := faultEnv(t)
	env.cfg.Volumes.MinFreeBytes = 1 << 20
	s := env.open(opts...)
	mustPut(t, s, "k", value("k", 1, 20_000))
	s.Close()
	zero := uint64(0)
	ffs.set(env.cfg.Dir, &fault{avail: &zero})
	for i := 0; i < 2; i++ { // every start, not just the first
		s = env.open(opts...)
		mustGet(t, s, "k", value("k", 1, 20_000))
		err := s.Put(context.Background(), []byte("k2"), []byte("v"))
		if !errors.Is(err, ErrReadOnly) || !strings.Contains(err.Error(), "metadata directory") {
			t.Fatalf("Put with the metadata disk full: %v", err)
		}
		s.Close()
	}
	ffs.set(env.cfg.Dir, nil)
	s = env.open(opts...)
	defer s.Close()
	mustPut(t, s, "k2", []byte("v"))
	if got, _ := s.Get(context.Background(), []byte("k2")); !bytes.Equal(got, []byte("v")) {
		t.Fatal("write after space returned did not read back")
	}
}

// TestHealReplacedVolume: a replaced volume is healed at once (no scrub),
// paced, counts as missing until done — a second failure meanwhile stops
// writes on 3 volumes (m = 1) — and a restart resumes the pass from its
// persisted mark.
func TestHealReplacedVolume(t *testing.T) {
	env := newEnv(t, storeCase{vols: 3})
	env.cfg.Volumes.RetryInterval = 20 * time.Millisecond
	env.cfg.Volumes.IOTimeout = time.Second
	s := env.open()
	want := map[string][]byte{}
	const records = 120
	for i := 0; i < records; i++ {
		k := fmt.Sprintf("k/%03d", i)
		want[k] = value(k, 1, 10_000)
		mustPut(t, s, k, want[k])
	}
	s.Close()
	if err := os.RemoveAll(env.vols[2]); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(env.vols[2], 0o755); err != nil {
		t.Fatal(err)
	}
	env.cfg.Volumes.AllowReplace = true
	env.cfg.Volumes.HealBytesPerSecond = 400 << 10 // about 40 records a second
	ffs := newFaultFS(osFS{})
	t.Cleanup(func() { ffs.set(env.vols[0], nil) })
	opts := []Option{func(o *options) { o.wrapFS = func(fsys) fsys { return ffs } }}
	s = env.open(opts...)
	h := s.Health()
	if h.Missing != 1 || h.Volumes[2].State != "healing" {
		t.Fatalf("Health with a replaced volume: %+v", h)
	}
	// It starts at once and persists its progress.
	waitFor(t, "heal progress", func() bool {
		m := s.Health().Volumes[2].HealFrom
		return m != nil && (m.Segment > 0 || m.Offset > 0)
	})
	// Healing counts as missing: with m = 1 a second failure stops writes.
	ffs.set(env.vols[0], &fault{write: syscall.EIO})
	err := s.Put(context.Background(), []byte("x"), value("x", 1, 10_000))
	if !errors.Is(err, ErrTooFewVolumes) || !strings.Contains(err.Error(), "healing") {
		t.Fatalf("Put with one volume healing and one failing (m=1): %v", err)
	}
	ffs.set(env.vols[0], nil)
	mark := *s.Health().Volumes[2].HealFrom
	s.Close()

	env.cfg.Volumes.HealBytesPerSecond = 0
	env.cfg.Volumes.AllowReplace = false
	s = env.open()
	defer s.Close()
	if h := s.Health().Volumes[2]; h.State != "healing" || h.HealFrom == nil || h.HealFrom.before(mark) {
		t.Fatalf("after restart: %+v, want healing from %+v", h, mark)
	}
	waitHealed(t, s)
	if n := s.ctr.healScanned.Load(); n >= records {
		t.Fatalf("the resumed pass looked at %d records; it should start from its mark, not from the start (%d)", n, records)
	}
	checkRedundancy(t, s, want)
	for k, v := range want {
		mustGet(t, s, k, v)
	}
}

// TestPipelinedFailuresLoseNothing: writers keep the pipeline full while
// fdatasyncs fail, now and then on m+1 volumes at once: groups fail, groups
// written behind them are refused, volumes go offline, come back and heal.
// Every acknowledged write reads back, then and after a reopen; a refused
// one reads back whole or not at all.
func TestPipelinedFailuresLoseNothing(t *testing.T) {
	env, ffs, opts := faultEnv(t)
	s := env.open(opts...)
	ctx := context.Background()
	var mu sync.Mutex
	acked := map[string]int{}
	tried := map[string]int{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				k := fmt.Sprintf("w%d/%d", w, i)
				n := 8_000 + (i*7919)%40_000
				mu.Lock()
				tried[k] = n
				mu.Unlock()
				if err := s.Put(ctx, []byte(k), value(k, 1, n)); err == nil {
					mu.Lock()
					acked[k] = n
					mu.Unlock()
				} else if !errors.Is(err, ErrTooFewVolumes) {
					t.Errorf("Put(%q): %v", k, err)
					return
				} else {
					time.Sleep(time.Millisecond) // refused: the volumes are being retried
				}
			}
		}()
	}
	for round := 0; round < 12; round++ {
		time.Sleep(25 * time.Millisecond)
		vols := []int{round % 6}
		if round%3 == 0 {
			vols = []int{round % 6, (round + 2) % 6, (round + 4) % 6} // m+1 at once
		}
		for _, v := range vols {
			n := new(atomic.Int32)
			n.Store(1)
			ffs.set(env.vols[v], &fault{syncFails: n})
		}
	}
	time.Sleep(25 * time.Millisecond)
	close(stop)
	wg.Wait()
	for _, v := range env.vols {
		ffs.set(v, nil)
	}
	check := func(s *Store) {
		t.Helper()
		for k, n := range tried {
			got, err := s.Get(ctx, []byte(k))
			if _, ok := acked[k]; ok && err != nil {
				t.Fatalf("acknowledged %s: %v", k, err)
			}
			if err == nil && !bytes.Equal(got, value(k, 1, n)) {
				t.Fatalf("%s reads back wrong bytes", k)
			}
			if err != nil && !errors.Is(err, ErrNotFound) {
				t.Fatalf("refused %s: %v", k, err)
			}
		}
	}
	waitHealed(t, s)
	check(s)
	failures, groups := s.ctr.volumeFailures.Load(), s.ctr.groups.Load()
	s.Close()
	s = env.open(opts...)
	defer s.Close()
	check(s)
	t.Logf("%d writes tried, %d acknowledged, %d volume failures, %d group commits", len(tried), len(acked), failures, groups)
}

// TestReturningVolumeMustBeOurs: an empty disk mounted where an offline
// volume was is not written to; the right disk coming back is healed.
func TestReturningVolumeMustBeOurs(t *testing.T) {
	env := newEnv(t, storeCase{vols: 3})
	s := env.open()
	mustPut(t, s, "k", value("k", 1, 30_000))
	s.Close()
	moved := env.vols[2] + ".unmounted"
	if err := os.Rename(env.vols[2], moved); err != nil {
		t.Fatal(err)
	}
	s = env.open()
	defer func() { s.Close() }()
	mustPut(t, s, "k2", value("k2", 1, 30_000))
	if err := os.Mkdir(env.vols[2], 0o755); err != nil { // an empty disk shows up
		t.Fatal(err)
	}
	waitFor(t, "a failed retry", func() bool { return strings.Contains(s.Health().Volumes[2].Retry, volumeManifestName) })
	if names, _ := os.ReadDir(env.vols[2]); len(names) != 0 {
		t.Fatalf("the store wrote %d entries onto a disk that is not its volume", len(names))
	}
	if err := os.Remove(env.vols[2]); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(moved, env.vols[2]); err != nil {
		t.Fatal(err)
	}
	waitHealed(t, s)
	checkRedundancy(t, s, map[string][]byte{"k": value("k", 1, 30_000), "k2": value("k2", 1, 30_000)})
}

// TestHungDiskRead: a read that meets a hung disk returns the right bytes
// from parity once the I/O deadline passes, and the disk is taken offline.
func TestHungDiskRead(t *testing.T) {
	env, ffs, opts := faultEnv(t)
	s := env.open(opts...)
	defer s.Close()
	want := map[string][]byte{}
	for i := 0; i < 6; i++ {
		k := fmt.Sprintf("k/%d", i)
		want[k] = value(k, 1, 50_000+i*1000)
		mustPut(t, s, k, want[k])
	}
	ffs.set(env.vols[0], &fault{hang: make(chan struct{})})
	start := time.Now()
	mustGet(t, s, "k/0", want["k/0"])
	if d := time.Since(start); d < env.cfg.Volumes.IOTimeout {
		t.Fatalf("read returned after %v, before the deadline: the hang was not met", d)
	}
	if h := s.Health().Volumes[0]; h.State != "offline" || !strings.Contains(h.Reason, "deadline") {
		t.Fatalf("volume 0 after a hung read: %+v", h)
	}
	for k, v := range want {
		mustGet(t, s, k, v) // no waiting now: the volume is skipped
	}
	ffs.set(env.vols[0], nil)
	waitHealed(t, s)
	for k, v := range want {
		mustGet(t, s, k, v)
	}
}
