package storage

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// storeCase is one configuration that the shared suites run against.
type storeCase struct {
	name      string
	vols      int
	parity    int // 0 = default
	syncIndex bool
	mem       bool // on a strict in-memory filesystem (vfs.NewCrashableMem)
}

// storeCases is the one table every conformance test runs: a plain single
// volume, a mirror, small and wide erasure codes, and the fsync-the-index
// mode.
var storeCases = []storeCase{
	{name: "1vol", vols: 1},
	{name: "2vol-mirror", vols: 2}, // k=1 m=1
	{name: "3vol-ec", vols: 3},     // k=2 m=1
	{name: "6vol-ec", vols: 6},     // k=4 m=2
	{name: "6vol-ec-syncindex", vols: 6, syncIndex: true},
}

// ecCases are the cases with parity.
func ecCases() []storeCase {
	var out []storeCase
	for _, c := range storeCases {
		if c.vols > 1 && !c.syncIndex {
			out = append(out, c)
		}
	}
	return out
}

// testEnv is a store's directories, so tests can close and reopen it.
type testEnv struct {
	t    testing.TB
	dir  string
	vols []string
	cfg  Config
	mem  *vfs.MemFS // nil on the real filesystem
	fs   fsys       // the filesystem the store runs on
}

func newEnv(t testing.TB, c storeCase) *testEnv {
	t.Helper()
	dir := t.TempDir()
	env := &testEnv{t: t, dir: dir, fs: osFS{}}
	if c.mem {
		env.mem = vfs.NewCrashableMem()
		env.fs = vfsFS{env.mem}
	}
	for i := 0; i < c.vols; i++ {
		v := filepath.Join(dir, fmt.Sprintf("vol%d", i))
		env.mkdir(v)
		env.vols = append(env.vols, v)
	}
	env.cfg = TestConfig(dir, env.vols)
	env.cfg.Volumes.Parity = c.parity
	env.cfg.Log.SyncIndex = c.syncIndex
	return env
}

// mkdir creates dir and, on the in-memory filesystem, syncs it and its
// parents so that a simulated power loss keeps it (as an operator's mkdir
// followed by a reboot would).
func (e *testEnv) mkdir(dir string) {
	e.t.Helper()
	if e.mem == nil {
		if err := os.Mkdir(dir, 0o755); err != nil {
			e.t.Fatal(err)
		}
		return
	}
	if err := e.mem.MkdirAll(dir, 0o755); err != nil {
		e.t.Fatal(err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if err := e.fs.SyncDir(d); err != nil {
			e.t.Fatal(err)
		}
		if d == "/" {
			return
		}
	}
}

// crash simulates a power loss now: the returned environment sees only what
// was synced. The store running on e carries on (close it afterwards).
func (e *testEnv) crash() *testEnv {
	c := *e
	c.mem = e.mem.CrashClone(vfs.CrashCloneCfg{})
	c.fs = vfsFS{c.mem}
	return &c
}

func (e *testEnv) options(opts []Option) []Option {
	if e.mem != nil {
		opts = append([]Option{WithFS(e.mem)}, opts...)
	}
	return opts
}

func (e *testEnv) open(opts ...Option) *Store {
	e.t.Helper()
	s, err := Open(e.cfg, e.options(opts)...)
	if err != nil {
		e.t.Fatalf("Open: %v", err)
	}
	return s
}

// openStore returns an open store for case c, closed at cleanup.
func openStore(t testing.TB, c storeCase, opts ...Option) (*Store, *testEnv) {
	t.Helper()
	env := newEnv(t, c)
	s := env.open(opts...)
	t.Cleanup(func() { s.Close() })
	return s, env
}

// value returns deterministic pseudo-random bytes for (key, version).
func value(key string, version uint64, n int) []byte {
	h := fnv.New64a()
	h.Write([]byte(key))
	r := rand.New(rand.NewPCG(h.Sum64(), version))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], r.Uint64())
	}
	for i := n &^ 7; i < n; i++ {
		b[i] = byte(r.Uint32())
	}
	return b
}

func mustPut(t testing.TB, s *Store, key string, v []byte, opts ...PutOption) {
	t.Helper()
	if err := s.Put(context.Background(), []byte(key), v, opts...); err != nil {
		t.Fatalf("Put(%q, %d bytes): %v", key, len(v), err)
	}
}

func mustGet(t testing.TB, s *Store, key string, want []byte) {
	t.Helper()
	got, err := s.Get(context.Background(), []byte(key))
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	if string(got) != string(want) {
		t.Fatalf("Get(%q): got %d bytes, want %d bytes (first difference at %d)", key, len(got), len(want), firstDiff(got, want))
	}
}

func firstDiff(a, b []byte) int {
	for i := 0; i < min(len(a), len(b)); i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// shardBytes returns the raw header+shard bytes of key's record on each
// volume (nil where unreadable).
func shardBytes(t testing.TB, s *Store, key string) (entry, [][]byte) {
	t.Helper()
	e, err := s.lookup([]byte(key))
	if err != nil {
		t.Fatalf("lookup(%q): %v", key, err)
	}
	if e.inline() {
		t.Fatalf("key %q is inline", key)
	}
	out := make([][]byte, len(s.vols))
	for v := range s.vols {
		f, err := s.fs.OpenFile(s.vols[v].segPath(e.Segment), false)
		if err != nil {
			continue
		}
		b := make([]byte, e.recordSize())
		if _, err := f.ReadAt(b, e.Offset); err == nil {
			out[v] = b
		}
		f.Close()
	}
	return e, out
}
