package storage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"
)

// TestConformance runs the shared suite against every configuration in
// storeCases, on the real filesystem and on the strict in-memory one
// (vfs.NewCrashableMem) that the power-loss tests use.
func TestConformance(t *testing.T) {
	suite := []struct {
		name string
		fn   func(t *testing.T, c storeCase)
	}{
		{"PutGetHas", testPutGetHas},
		{"Overwrite", testOverwrite},
		{"Delete", testDelete},
		{"Batch", testBatch},
		{"Iterate", testIterate},
		{"Reopen", testReopen},
		{"PruneEpoch", testPruneEpoch},
		{"PruneAge", testPruneAge},
		{"PruneKeepsRewritten", testPruneKeepsRewritten},
		{"Compaction", testCompaction},
		{"ScrubClean", testScrubClean},
		{"Concurrent", testConcurrent},
		{"BadInput", testBadInput},
		{"Closed", testClosed},
	}
	for _, fsName := range []string{"os", "mem"} {
		for _, c := range storeCases {
			c.mem = fsName == "mem"
			t.Run(fsName+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				for _, tc := range suite {
					t.Run(tc.name, func(t *testing.T) { tc.fn(t, c) })
				}
			})
		}
	}
}

// sizes crosses every boundary the layout has: empty, tiny, the inline
// limit, one shard, several shards, and a record larger than a segment.
var sizes = []int{0, 1, 31, 4095, 4096, 4097, 10_000, 131_072, 700_001, 1_300_000}

func testPutGetHas(t *testing.T, c storeCase) {
	s, _ := openStore(t, c)
	ctx := context.Background()
	for _, n := range sizes {
		k := fmt.Sprintf("v/%d", n)
		mustPut(t, s, k, value(k, 1, n))
	}
	for _, n := range sizes {
		k := fmt.Sprintf("v/%d", n)
		mustGet(t, s, k, value(k, 1, n))
		if ok, err := s.Has(ctx, []byte(k)); err != nil || !ok {
			t.Fatalf("Has(%q) = %v, %v", k, ok, err)
		}
	}
	if ok, err := s.Has(ctx, []byte("absent")); err != nil || ok {
		t.Fatalf("Has(absent) = %v, %v", ok, err)
	}
	if _, err := s.Get(ctx, []byte("absent")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(absent) error = %v, want ErrNotFound", err)
	}
	// The caller owns what Get returns: changing it changes nothing stored.
	v, _ := s.Get(ctx, []byte("v/10000"))
	v[0] ^= 0xff
	mustGet(t, s, "v/10000", value("v/10000", 1, 10_000))
}

func testOverwrite(t *testing.T, c storeCase) {
	s, _ := openStore(t, c)
	// Each step crosses the inline boundary one way or the other.
	steps := []int{100, 50_000, 10, 0, 200_000, 4096, 4097}
	for i, n := range steps {
		mustPut(t, s, "k", value("k", uint64(i), n))
		mustGet(t, s, "k", value("k", uint64(i), n))
	}
	st := s.Stats()
	if st.LiveRecords != 1 {
		t.Fatalf("LiveRecords = %d after overwrites, want 1 (the last value is segment-resident)", st.LiveRecords)
	}
}

func testDelete(t *testing.T, c storeCase) {
	s, _ := openStore(t, c)
	ctx := context.Background()
	mustPut(t, s, "a", value("a", 1, 20_000))
	mustPut(t, s, "b", value("b", 1, 20))
	for _, k := range []string{"a", "b", "never-written"} {
		if err := s.Delete(ctx, []byte(k)); err != nil {
			t.Fatalf("Delete(%q): %v", k, err)
		}
		if ok, _ := s.Has(ctx, []byte(k)); ok {
			t.Fatalf("Has(%q) after Delete = true", k)
		}
		if _, err := s.Get(ctx, []byte(k)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get(%q) after Delete: %v, want ErrNotFound", k, err)
		}
	}
	if st := s.Stats(); st.LiveBytes != 0 || st.LiveRecords != 0 {
		t.Fatalf("after deleting everything: LiveBytes=%d LiveRecords=%d, want 0", st.LiveBytes, st.LiveRecords)
	}
}

func testBatch(t *testing.T, c storeCase) {
	s, _ := openStore(t, c)
	ctx := context.Background()
	mustPut(t, s, "gone", value("gone", 1, 9000))
	var b Batch
	b.Put([]byte("x"), value("x", 1, 9000))
	b.Put([]byte("y"), value("y", 1, 10))
	b.Put([]byte("x"), value("x", 2, 7000)) // later op on the same key wins
	b.Delete([]byte("gone"))
	b.Put([]byte("z"), value("z", 1, 50_000), WithEpoch(3))
	if err := s.Write(ctx, &b); err != nil {
		t.Fatal(err)
	}
	mustGet(t, s, "x", value("x", 2, 7000))
	mustGet(t, s, "y", value("y", 1, 10))
	mustGet(t, s, "z", value("z", 1, 50_000))
	if ok, _ := s.Has(ctx, []byte("gone")); ok {
		t.Fatal("batch delete did not apply")
	}
	if err := s.Write(ctx, &Batch{}); err != nil {
		t.Fatalf("empty batch: %v", err)
	}
	// A batch with one bad key writes nothing.
	var bad Batch
	bad.Put([]byte("ok"), []byte("1"))
	bad.Put(nil, []byte("2"))
	if err := s.Write(ctx, &bad); !errors.Is(err, ErrEmptyKey) {
		t.Fatalf("bad batch: %v, want ErrEmptyKey", err)
	}
	if ok, _ := s.Has(ctx, []byte("ok")); ok {
		t.Fatal("part of a rejected batch was written")
	}
}

func testIterate(t *testing.T, c storeCase) {
	s, _ := openStore(t, c)
	ctx := context.Background()
	want := map[string][]byte{}
	for i := 0; i < 40; i++ {
		k := fmt.Sprintf("row/%03d", i)
		want[k] = value(k, 1, (i*977)%9000)
		mustPut(t, s, k, want[k], WithEpoch(uint64(i)))
	}
	mustPut(t, s, "rox", []byte("outside"))
	mustPut(t, s, "ro", []byte("outside"))
	mustPut(t, s, "\xff\xff", []byte("max"))
	mustPut(t, s, "\xff\xff\x00", []byte("max2"))

	it, err := s.NewIter(ctx, []byte("row/"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for it.Next() {
		k := string(it.Key())
		got = append(got, k)
		v, err := it.Value()
		if err != nil {
			t.Fatalf("Value(%q): %v", k, err)
		}
		if string(v) != string(want[k]) {
			t.Fatalf("Value(%q) differs", k)
		}
		if info := it.Info(); info.Size != len(want[k]) || !info.HasEpoch {
			t.Fatalf("Info(%q) = %+v", k, info)
		}
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	it.Close()
	if len(got) != 40 || !sort.StringsAreSorted(got) {
		t.Fatalf("iterated %d keys (sorted=%v), want 40 sorted", len(got), sort.StringsAreSorted(got))
	}
	// A prefix of all-0xff bytes has no upper bound.
	it, _ = s.NewIter(ctx, []byte("\xff\xff"))
	n := 0
	for it.Next() {
		n++
	}
	it.Close()
	if n != 2 {
		t.Fatalf("prefix 0xffff: %d keys, want 2", n)
	}
}

func testReopen(t *testing.T, c storeCase) {
	env := newEnv(t, c)
	s := env.open()
	for _, n := range sizes {
		k := fmt.Sprintf("v/%d", n)
		mustPut(t, s, k, value(k, 7, n), WithEpoch(uint64(n)))
	}
	mustPut(t, s, "del", []byte("x"))
	if err := s.Delete(context.Background(), []byte("del")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 2; round++ {
		s = env.open()
		for _, n := range sizes {
			k := fmt.Sprintf("v/%d", n)
			mustGet(t, s, k, value(k, 7, n))
		}
		if ok, _ := s.Has(context.Background(), []byte("del")); ok {
			t.Fatal("deleted key came back after reopen")
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func testPruneEpoch(t *testing.T, c storeCase) {
	s, _ := openStore(t, c)
	ctx := context.Background()
	for e := uint64(1); e <= 10; e++ {
		for i := 0; i < 3; i++ {
			k := fmt.Sprintf("row/%d/%d", e, i)
			mustPut(t, s, k, value(k, e, 3000+i*3000), WithEpoch(e))
		}
		mustPut(t, s, fmt.Sprintf("blob/%d", e), []byte("keep"), WithEpoch(e)) // other prefix
	}
	mustPut(t, s, "row/untagged", []byte("no epoch"))
	n, err := s.Prune(ctx, PruneRule{Prefix: []byte("row/"), BeforeEpoch: 6})
	if err != nil {
		t.Fatal(err)
	}
	if n != 15 {
		t.Fatalf("pruned %d keys, want 15 (epochs 1-5 × 3)", n)
	}
	for e := uint64(1); e <= 10; e++ {
		for i := 0; i < 3; i++ {
			k := fmt.Sprintf("row/%d/%d", e, i)
			ok, _ := s.Has(ctx, []byte(k))
			if ok != (e >= 6) {
				t.Fatalf("epoch %d key %s present=%v", e, k, ok)
			}
		}
		if ok, _ := s.Has(ctx, []byte(fmt.Sprintf("blob/%d", e))); !ok {
			t.Fatalf("blob/%d pruned by a row/ rule", e)
		}
	}
	if ok, _ := s.Has(ctx, []byte("row/untagged")); !ok {
		t.Fatal("untagged key pruned by an epoch rule")
	}

	// The configured rule: keep 2 epochs.
	s.cfg.Retention.Rules = []RetentionRule{{Prefix: []byte("row/"), KeepEpochs: 2}}
	if n, _ := s.ApplyRetention(ctx); n != 0 {
		t.Fatalf("retention before SetEpoch pruned %d", n)
	}
	s.SetEpoch(10) // keep epochs 9 and 10
	n, err = s.ApplyRetention(ctx)
	if err != nil || n != 9 {
		t.Fatalf("ApplyRetention = %d, %v; want 9 (epochs 6-8)", n, err)
	}
	if ok, _ := s.Has(ctx, []byte("row/9/0")); !ok {
		t.Fatal("epoch 9 pruned with KeepEpochs=2 at epoch 10")
	}
}

func testPruneAge(t *testing.T, c storeCase) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	s, _ := openStore(t, c, WithClock(clock))
	ctx := context.Background()
	for h := 0; h < 6; h++ {
		k := fmt.Sprintf("blob/%d", h)
		mustPut(t, s, k, value(k, 1, 6000))
		mustPut(t, s, fmt.Sprintf("status/%d", h), []byte("certified"))
		advance(time.Hour)
	}
	// now = start+6h; blobs written at +0h … +5h. Keep 3h.
	s.cfg.Retention.Rules = []RetentionRule{{Prefix: []byte("blob/"), MaxAge: 3 * time.Hour}}
	n, err := s.ApplyRetention(ctx)
	if err != nil || n != 3 {
		t.Fatalf("ApplyRetention = %d, %v; want 3 (written at +0h, +1h, +2h)", n, err)
	}
	for h := 0; h < 6; h++ {
		ok, _ := s.Has(ctx, []byte(fmt.Sprintf("blob/%d", h)))
		if ok != (h >= 3) {
			t.Fatalf("blob/%d present=%v", h, ok)
		}
		if ok, _ := s.Has(ctx, []byte(fmt.Sprintf("status/%d", h))); !ok {
			t.Fatalf("status/%d pruned by a blob/ rule", h)
		}
	}
}

// A key rewritten after Prune chose it keeps its new value: the delete is
// conditional on the version Prune saw.
func testPruneKeepsRewritten(t *testing.T, c storeCase) {
	s, _ := openStore(t, c)
	ctx := context.Background()
	mustPut(t, s, "k", value("k", 1, 9000), WithEpoch(1))
	old, err := s.lookup([]byte("k"))
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, "k", value("k", 2, 9000), WithEpoch(1))
	req := &request{recs: []*encoded{s.codec.encode(trailer{Op: opDeleteIf, Flags: flagBatchEnd, KeyLen: 1, CondA: old.Version}, []byte("k"), nil)}}
	if err := s.submit(ctx, req); err != nil {
		t.Fatal(err)
	}
	if req.applied != 0 {
		t.Fatalf("stale conditional delete applied")
	}
	mustGet(t, s, "k", value("k", 2, 9000))
}

func testCompaction(t *testing.T, c storeCase) {
	env := newEnv(t, c)
	env.cfg.Log.SegmentSize = 128 << 10 // per volume: several segments even at k=4
	s := env.open()
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	live := map[string][]byte{}
	// Fill several 1 MiB segments, then delete or overwrite most keys.
	for i := 0; i < 120; i++ {
		k := fmt.Sprintf("k/%03d", i)
		v := value(k, 1, 20_000+i*100)
		mustPut(t, s, k, v, WithEpoch(uint64(i)))
		live[k] = v
	}
	for i := 0; i < 120; i++ {
		k := fmt.Sprintf("k/%03d", i)
		switch i % 4 {
		case 0, 1:
			if err := s.Delete(ctx, []byte(k)); err != nil {
				t.Fatal(err)
			}
			delete(live, k)
		case 2:
			v := value(k, 2, 5000)
			mustPut(t, s, k, v)
			live[k] = v
		}
	}
	before := s.Stats()
	idsBefore := s.segs.sortedIDs()

	// Writers keep going while compaction runs.
	var wg sync.WaitGroup
	var mu sync.Mutex
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			k := fmt.Sprintf("new/%04d", i)
			v := value(k, 1, 15_000)
			if err := s.Put(ctx, []byte(k), v); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			live[k] = v
			mu.Unlock()
		}
	}()
	rep, err := s.Compact(ctx)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("Compact: %v", err)
	}
	if rep.Segments == 0 || rep.ReclaimedBytes == 0 || rep.MovedRecords == 0 {
		t.Fatalf("compaction removed or moved nothing: %+v (before: %+v)", rep, before)
	}
	gone := 0
	for _, id := range idsBefore {
		missing := 0
		for _, v := range env.vols {
			if _, err := env.fs.Stat(filepath.Join(v, segmentsDirName, segmentName(id))); errors.Is(err, os.ErrNotExist) {
				missing++
			}
		}
		if missing == len(env.vols) {
			gone++
		} else if missing != 0 {
			t.Fatalf("segment %d removed from only %d of %d volumes", id, missing, len(env.vols))
		}
	}
	if gone != rep.Segments {
		t.Fatalf("compaction reports %d segments removed, %d are gone from disk", rep.Segments, gone)
	}
	for k, v := range live {
		mustGet(t, s, k, v)
	}
	// Moves keep epochs: pruning still finds the moved keys.
	n, err := s.Prune(ctx, PruneRule{Prefix: []byte("k/"), BeforeEpoch: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if n != 30 { // the i%4==3 keys kept their epoch-tagged first value; i%4==2 were rewritten untagged
		t.Fatalf("pruned %d moved keys, want 30", n)
	}
	for i := 3; i < 120; i += 4 {
		delete(live, fmt.Sprintf("k/%03d", i))
	}
	// Everything survives a reopen after compaction.
	s.Close()
	s2 := env.open()
	defer s2.Close()
	for k, v := range live {
		mustGet(t, s2, k, v)
	}
	if st := s2.Stats(); st.LiveRecords != len(live) {
		t.Fatalf("after reopen LiveRecords = %d, want %d", st.LiveRecords, len(live))
	}
}

func testScrubClean(t *testing.T, c storeCase) {
	s, _ := openStore(t, c)
	for i := 0; i < 20; i++ {
		k := fmt.Sprintf("k/%d", i)
		mustPut(t, s, k, value(k, 1, 5000*i))
	}
	rep, err := s.Scrub(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.RepairedShard != 0 || len(rep.Unrecoverable) != 0 {
		t.Fatalf("scrub of a healthy store: %+v", rep)
	}
	if want := s.Stats().LiveRecords; rep.Records != want {
		t.Fatalf("scrub verified %d records, want %d", rep.Records, want)
	}
}

func testConcurrent(t *testing.T, c storeCase) {
	s, _ := openStore(t, c)
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 40; i++ {
				k := fmt.Sprintf("w%d/%d", w, i)
				v := value(k, 1, (i*4099)%60_000)
				if err := s.Put(ctx, []byte(k), v); err != nil {
					t.Error(err)
					return
				}
				got, err := s.Get(ctx, []byte(k))
				if err != nil || string(got) != string(v) {
					t.Errorf("Get(%q) after Put: %v", k, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if st := s.Stats(); st.GroupCommits == 0 || st.Records < 160 {
		t.Fatalf("stats after 160 puts: %+v", st)
	}
}

func testBadInput(t *testing.T, c storeCase) {
	s, _ := openStore(t, c)
	ctx := context.Background()
	var ke *KeyError
	if err := s.Put(ctx, nil, []byte("v")); !errors.Is(err, ErrEmptyKey) || !errors.As(err, &ke) {
		t.Fatalf("empty key: %v", err)
	}
	big := make([]byte, s.cfg.Log.MaxKeySize+1)
	if err := s.Put(ctx, big, nil); !errors.Is(err, ErrKeyTooLarge) {
		t.Fatalf("oversized key: %v", err)
	}
	if _, err := s.Get(ctx, big); !errors.Is(err, ErrKeyTooLarge) {
		t.Fatalf("Get oversized key: %v", err)
	}
	s.cfg.Log.MaxValueSize = 1000
	if err := s.Put(ctx, []byte("k"), make([]byte, 1001)); !errors.Is(err, ErrValueTooLarge) || !errors.As(err, &ke) || ke.Size != 1001 {
		t.Fatalf("oversized value: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Put(cctx, []byte("k"), []byte("v")); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
	if ok, _ := s.Has(ctx, []byte("k")); ok {
		t.Fatal("a rejected put was written")
	}
}

func testClosed(t *testing.T, c storeCase) {
	env := newEnv(t, c)
	s := env.open()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Put(ctx, []byte("k"), nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Put after Close: %v", err)
	}
	if _, err := s.Get(ctx, []byte("k")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Get after Close: %v", err)
	}
	if err := s.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
}
