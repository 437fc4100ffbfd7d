package storage

import (
	"context"
	"fmt"
	"maps"
	"testing"
)

// snapshot reads every key and value.
func snapshot(t *testing.T, s *Store) map[string]string {
	t.Helper()
	it, err := s.NewIter(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	out := map[string]string{}
	for it.Next() {
		v, err := it.Value()
		if err != nil {
			t.Fatalf("Value(%q): %v", it.Key(), err)
		}
		out[string(it.Key())] = string(v)
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRebuildIndex: the index rebuilt from the volumes alone holds exactly
// what the store held — after overwrites, deletes, batches, pruning and
// compaction, including deletes whose segment was compacted while the
// segment holding the puts they deleted remains (their tombstones are
// carried forward; without that the deleted keys would come back).
func TestRebuildIndex(t *testing.T) {
	for _, c := range []storeCase{{name: "1vol", vols: 1}, {name: "6vol-ec", vols: 6}, {name: "mem-3vol", vols: 3, mem: true}} {
		t.Run(c.name, func(t *testing.T) {
			env := newEnv(t, c)
			env.cfg.Log.SegmentSize = 64 << 10
			env.cfg.Compaction.MinGarbageRatio = 0.6
			s := env.open()
			ctx := context.Background()
			// Segment A: long-lived values beside values deleted later
			// (sized by what a segment holds: SegmentSize per volume, k
			// data shards).
			capa := int(env.cfg.Log.SegmentSize) * s.codec.k
			for i := 0; i < 3; i++ {
				mustPut(t, s, fmt.Sprintf("keep/%d", i), value("keep", uint64(i), capa/4))
				mustPut(t, s, fmt.Sprintf("gone/%d", i), value("gone", uint64(i), capa/20))
			}
			mustPut(t, s, "small/inline", []byte("tiny"))
			// Later segments: the deletes among filler that dies.
			var deletesIn uint64
			for i := 0; i < 40; i++ {
				mustPut(t, s, fmt.Sprintf("filler/%d", i), value("filler", uint64(i), capa/10), WithEpoch(uint64(i%4)))
				if i == 15 {
					for j := 0; j < 3; j++ {
						if err := s.Delete(ctx, []byte(fmt.Sprintf("gone/%d", j))); err != nil {
							t.Fatal(err)
						}
					}
					deletesIn = s.Stats().ActiveSegment
				}
			}
			var b Batch
			b.Put([]byte("batch/a"), value("a", 1, 7000))
			b.Put([]byte("batch/b"), []byte("b"))
			b.Delete([]byte("small/inline"))
			if err := s.Write(ctx, &b); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 40; i += 2 {
				if err := s.Delete(ctx, []byte(fmt.Sprintf("filler/%d", i))); err != nil {
					t.Fatal(err)
				}
			}
			mustPut(t, s, "filler/1", value("filler", 99, 6000)) // an overwrite
			if _, err := s.Prune(ctx, PruneRule{Prefix: []byte("filler/"), BeforeEpoch: 2}); err != nil {
				t.Fatal(err)
			}
			firstSeg := s.segs.sortedIDs()[0]
			rep, err := s.Compact(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Segments == 0 || s.segs.sortedIDs()[0] != firstSeg || s.segs.acquire(deletesIn) != nil {
				t.Fatalf("compaction should remove the deletes' segment %d and keep the first, %d: %+v, segments %v", deletesIn, firstSeg, rep, s.segs.sortedIDs())
			}
			if st := s.Stats(); st.Tombstones < 3 {
				t.Fatalf("%d tombstones kept after compaction; the deletes of gone/* must be", st.Tombstones)
			}
			mustPut(t, s, "after/compaction", value("after", 1, 8000))
			want := snapshot(t, s)
			for i := 0; i < 3; i++ {
				if _, ok := want[fmt.Sprintf("gone/%d", i)]; ok {
					t.Fatalf("gone/%d present before the rebuild", i)
				}
			}
			s.Close()

			rrep, err := RebuildIndex(env.cfg, env.options(nil)...)
			if err != nil {
				t.Fatalf("RebuildIndex: %v", err)
			}
			if rrep.MovedAside == "" || len(rrep.Damaged) != 0 || rrep.Keys != len(want) {
				t.Fatalf("RebuildIndex: %+v, want %d keys", rrep, len(want))
			}
			s = env.open()
			defer s.Close()
			got := snapshot(t, s)
			if !maps.Equal(got, want) {
				for k := range want {
					if got[k] != want[k] {
						t.Errorf("key %q differs after the rebuild (present: %v)", k, got[k] != "")
					}
				}
				for k := range got {
					if _, ok := want[k]; !ok {
						t.Errorf("key %q came back after the rebuild", k)
					}
				}
				t.FailNow()
			}
			// The rebuilt store keeps working: writes, compaction, reopen.
			mustPut(t, s, "post/rebuild", value("post", 1, 9000))
			if _, err := s.Compact(ctx); err != nil {
				t.Fatal(err)
			}
			if rep, err := s.Scrub(ctx); err != nil || len(rep.Unrecoverable) > 0 {
				t.Fatalf("scrub after rebuild: %v %+v", err, rep)
			}
		})
	}
}
