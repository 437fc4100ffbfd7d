package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Fault tests: damage shards on disk and check that reads return the right
// bytes and rewrite the damaged shards (up to m volumes), or fail with an
// error naming the key and volumes (m+1), never returning wrong bytes.

// damageKind is one way a shard goes bad.
type damageKind struct {
	name    string
	reopen  bool // applied with the store closed (the open file handle would hide it)
	inPlace bool // touches only this record's bytes
	apply   func(t *testing.T, path string, e entry)
}

var damageKinds = []damageKind{
	{name: "delete-file", reopen: true, apply: func(t *testing.T, path string, e entry) {
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
	}},
	{name: "truncate", apply: func(t *testing.T, path string, e entry) {
		if err := os.Truncate(path, e.Offset+headerSize+int64(e.ShardLen)/2); err != nil {
			t.Fatal(err)
		}
	}},
	{name: "flip-data", inPlace: true, apply: func(t *testing.T, path string, e entry) {
		flipByte(t, path, e.Offset+headerSize+int64(e.ShardLen)/3)
	}},
	{name: "zero-shard", inPlace: true, apply: func(t *testing.T, path string, e entry) {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteAt(make([]byte, e.recordSize()), e.Offset); err != nil {
			t.Fatal(err)
		}
	}},
	{name: "flip-header", inPlace: true, apply: func(t *testing.T, path string, e entry) {
		flipByte(t, path, e.Offset+20) // inside the offset field
	}},
}

func flipByte(t *testing.T, path string, at int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b [1]byte
	if _, err := f.ReadAt(b[:], at); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x5a
	if _, err := f.WriteAt(b[:], at); err != nil {
		t.Fatal(err)
	}
}

// pickVolumes picks f distinct volumes of n, at least one of them holding a
// data shard (so that the read's fast path meets the damage).
func pickVolumes(rng *rand.Rand, n, k, f int) []int {
	for {
		p := rng.Perm(n)[:f]
		slices.Sort(p)
		if p[0] < k {
			return p
		}
	}
}

func TestFaultRead(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range ecCases() {
		for _, d := range damageKinds {
			if d.name == "flip-header" {
				continue // reads check data checksums, not headers; the scrubber covers headers
			}
			k, m := (&VolumesConfig{Paths: make([]string, c.vols)}).shards()
			for f := 1; f <= m+1; f++ {
				vols := pickVolumes(rng, c.vols, k, f)
				t.Run(fmt.Sprintf("%s/%s/%dbad", c.name, d.name, f), func(t *testing.T) {
					testFaultRead(t, c, d, vols, f <= m)
				})
			}
		}
	}
}

func testFaultRead(t *testing.T, c storeCase, d damageKind, bad []int, recoverable bool) {
	env := newEnv(t, c)
	s := env.open()
	defer func() { s.Close() }()
	ctx := context.Background()
	const key = "blob/victim"
	want := value(key, 1, 150_000)
	mustPut(t, s, "blob/other", value("blob/other", 1, 80_000))
	mustPut(t, s, key, want)
	e, orig := shardBytes(t, s, key)
	if d.reopen {
		s.Close()
	}
	for _, v := range bad {
		d.apply(t, s.vols[v].segPath(e.Segment), e)
	}
	if d.reopen {
		s = env.open()
	}
	got, err := s.Get(ctx, []byte(key))
	if !recoverable {
		var ue *UnrecoverableError
		if !errors.As(err, &ue) || !errors.Is(err, ErrUnrecoverable) {
			t.Fatalf("Get with %d bad shards: got %d bytes, err %v; want *UnrecoverableError", len(bad), len(got), err)
		}
		if got != nil {
			t.Fatal("bytes returned alongside an unrecoverable error")
		}
		if !slices.Equal(ue.MissingVolumes(), bad) {
			t.Fatalf("error names volumes %v, damaged %v", ue.MissingVolumes(), bad)
		}
		msg := err.Error()
		if !strings.Contains(msg, key) || !strings.Contains(msg, s.vols[bad[0]].path) {
			t.Fatalf("error does not name the key and a volume path: %s", msg)
		}
		t.Logf("error: %s", msg)
		return
	}
	if err != nil {
		t.Fatalf("Get with %d bad shards: %v", len(bad), err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Get returned wrong bytes (first difference at %d)", firstDiff(got, want))
	}
	_, now := shardBytes(t, s, key)
	for v := range now {
		if !bytes.Equal(now[v], orig[v]) {
			t.Fatalf("shard on volume %d not restored after the read (damaged: %v)", v, bad)
		}
	}
	if st := s.Stats(); st.Repairs < uint64(len(bad)) || st.Reconstructs == 0 {
		t.Fatalf("stats after healing read: repairs=%d reconstructs=%d, want ≥ %d, ≥ 1", st.Repairs, st.Reconstructs, len(bad))
	}
	// The other value shares the damaged files; it must read back too.
	mustGet(t, s, "blob/other", value("blob/other", 1, 80_000))
}

// TestScrubHeals damages parity and data shards and headers (things a read
// may never look at) and checks one scrub pass rewrites exactly those.
func TestScrubHeals(t *testing.T) {
	for _, c := range ecCases() {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, uint64(c.vols)))
			s, _ := openStore(t, c)
			keys := make([]string, 12)
			orig := map[string][][]byte{}
			entries := map[string]entry{}
			for i := range keys {
				keys[i] = fmt.Sprintf("row/%02d", i)
				mustPut(t, s, keys[i], value(keys[i], 1, 5000+i*7000))
			}
			for _, k := range keys {
				entries[k], orig[k] = shardBytes(t, s, k)
			}
			damaged := 0
			for i, k := range keys {
				d := damageKinds[2+i%3] // the in-place kinds: flip-data, zero-shard, flip-header
				v := rng.IntN(c.vols)
				d.apply(t, s.vols[v].segPath(entries[k].Segment), entries[k])
				damaged++
			}
			rep, err := s.Scrub(context.Background())
			if err != nil || len(rep.Unrecoverable) > 0 {
				t.Fatalf("scrub: %v %+v", err, rep)
			}
			if rep.RepairedShard != damaged {
				t.Fatalf("scrub repaired %d shards, %d were damaged", rep.RepairedShard, damaged)
			}
			for _, k := range keys {
				_, now := shardBytes(t, s, k)
				for v := range now {
					if !bytes.Equal(now[v], orig[k][v]) {
						t.Fatalf("%s: shard %d not restored by scrub", k, v)
					}
				}
			}
			if rep, _ := s.Scrub(context.Background()); rep.RepairedShard != 0 {
				t.Fatalf("second scrub repaired %d shards", rep.RepairedShard)
			}
		})
	}
}

// TestScrubRebuildsLostFile removes a whole segment file from one volume.
func TestScrubRebuildsLostFile(t *testing.T) {
	c := storeCase{name: "6vol", vols: 6}
	env := newEnv(t, c)
	s := env.open()
	var keys []string
	for i := 0; i < 10; i++ {
		k := fmt.Sprintf("k/%d", i)
		keys = append(keys, k)
		mustPut(t, s, k, value(k, 1, 30_000))
	}
	e, _ := shardBytes(t, s, keys[0])
	origs := map[string][][]byte{}
	inSeg := 0
	for _, k := range keys {
		ek, o := shardBytes(t, s, k)
		origs[k] = o
		if ek.Segment == e.Segment {
			inSeg++
		}
	}
	s.Close()
	if err := os.Remove(filepath.Join(env.vols[5], segmentsDirName, segmentName(e.Segment))); err != nil {
		t.Fatal(err)
	}
	s = env.open()
	defer s.Close()
	rep, err := s.Scrub(context.Background())
	if err != nil || rep.RepairedShard != inSeg {
		t.Fatalf("scrub: %v, repaired %d shards, want %d", err, rep.RepairedShard, inSeg)
	}
	for _, k := range keys {
		_, now := shardBytes(t, s, k)
		if !bytes.Equal(now[5], origs[k][5]) {
			t.Fatalf("%s: volume 5 shard not rebuilt", k)
		}
	}
}

// TestSingleVolumeCorruption: with no parity a damaged value is an error
// naming the key, never wrong bytes.
func TestSingleVolumeCorruption(t *testing.T) {
	s, _ := openStore(t, storeCase{vols: 1})
	want := value("k", 1, 40_000)
	mustPut(t, s, "k", want)
	e, _ := shardBytes(t, s, "k")
	flipByte(t, s.vols[0].segPath(e.Segment), e.Offset+headerSize+100)
	got, err := s.Get(context.Background(), []byte("k"))
	if !errors.Is(err, ErrUnrecoverable) || got != nil {
		t.Fatalf("Get of a corrupt single-volume value: %d bytes, %v", len(got), err)
	}
	rep, err := s.Scrub(context.Background())
	if err != nil || len(rep.Unrecoverable) != 1 {
		t.Fatalf("scrub: %v, %d unrecoverable, want 1", err, len(rep.Unrecoverable))
	}
}

// TestReplaceVolume wipes whole volumes: without AllowReplace Open refuses;
// with it up to m empty disks are adopted and rebuilt; m+1 is refused.
func TestReplaceVolume(t *testing.T) {
	c := storeCase{vols: 6} // k=4 m=2
	env := newEnv(t, c)
	s := env.open()
	var keys []string
	origs := map[string][][]byte{}
	for i := 0; i < 16; i++ {
		k := fmt.Sprintf("row/%d", i)
		keys = append(keys, k)
		mustPut(t, s, k, value(k, 1, 10_000+i*9000))
	}
	for _, k := range keys {
		_, origs[k] = shardBytes(t, s, k)
	}
	s.Close()
	wipe := func(v int) {
		if err := os.RemoveAll(env.vols[v]); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(env.vols[v], 0o755); err != nil {
			t.Fatal(err)
		}
	}
	wipe(1)
	wipe(4)
	// Without AllowReplace an empty directory is an unmounted disk: the
	// store opens without it (m = 2 may be missing), saying which and what
	// to do, and writes nothing there.
	s = env.open()
	h := s.Health()
	if h.Missing != 2 || h.Volumes[1].State != "offline" || h.Volumes[4].State != "offline" || !strings.Contains(h.Volumes[1].Reason, "AllowReplace") {
		t.Fatalf("Health with wiped volumes: %+v", h)
	}
	for i, k := range keys {
		mustGet(t, s, k, value(k, 1, 10_000+i*9000))
	}
	s.Close()
	if _, err := os.Stat(filepath.Join(env.vols[1], segmentsDirName)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the store wrote into an unmounted volume's directory: %v", err)
	}
	env.cfg.Volumes.AllowReplace = true
	s = env.open()
	for i, k := range keys {
		mustGet(t, s, k, value(k, 1, 10_000+i*9000))
	}
	if _, err := s.Scrub(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		_, now := shardBytes(t, s, k)
		for _, v := range []int{1, 4} {
			if !bytes.Equal(now[v], origs[k][v]) {
				t.Fatalf("%s: replaced volume %d not rebuilt", k, v)
			}
		}
	}
	s.Close()
	// Reopening with the rebuilt volumes needs no AllowReplace.
	env.cfg.Volumes.AllowReplace = false
	s = env.open()
	s.Close()

	env.cfg.Volumes.AllowReplace = true
	wipe(0)
	wipe(2)
	wipe(3)
	if _, err := Open(env.cfg); !errors.Is(err, ErrVolumeMismatch) || !strings.Contains(err.Error(), "only 2 can be rebuilt") {
		t.Fatalf("Open with m+1 wiped volumes: %v", err)
	}
}

// TestOpenFileCap: with more segments than the descriptor cap, idle
// segments are closed and reopened transparently.
func TestOpenFileCap(t *testing.T) {
	old := maxOpenSegments
	maxOpenSegments = 4
	defer func() { maxOpenSegments = old }()
	env := newEnv(t, storeCase{vols: 3})
	env.cfg.Log.SegmentSize = 64 << 10
	s := env.open()
	defer s.Close()
	for i := 0; i < 40; i++ {
		k := fmt.Sprintf("k/%d", i)
		mustPut(t, s, k, value(k, 1, 50_000))
	}
	if n := len(s.segs.sortedIDs()); n < 12 {
		t.Fatalf("only %d segments; the test needs many", n)
	}
	for round := 0; round < 2; round++ {
		for i := 0; i < 40; i++ {
			k := fmt.Sprintf("k/%d", i)
			mustGet(t, s, k, value(k, 1, 50_000))
			if open := s.segs.open.Load(); open > maxOpenSegments+2 {
				t.Fatalf("%d segments have open files, cap %d", open, maxOpenSegments)
			}
		}
	}
}
