package storage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// Corruption fails closed: a damaged log record with intact records after it
// stops Open with a *CorruptError naming segment, offset and volumes; Check
// reports it without changing anything; Repair drops exactly it (and the
// batches it breaks) and says so. A torn tail is dropped quietly.

// abandon closes s without its final checkpoint, so the next Open replays
// everything written since the last one, as after a crash.
func abandon(t testing.TB, s *Store) {
	t.Helper()
	// Every write has returned; commitMu orders this store before the
	// committer's (or a leading caller's) next read of the flag.
	s.commitMu.Lock()
	s.cm.dirty = false
	s.commitMu.Unlock()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func replayEnv(t *testing.T, c storeCase) *testEnv {
	env := newEnv(t, c)
	env.cfg.Log.CheckpointInterval = time.Hour
	env.cfg.Log.CheckpointBytes = 1 << 30
	return env
}

func TestCorruptRecordFailsOpen(t *testing.T) {
	for _, c := range []storeCase{{name: "1vol", vols: 1}, {name: "3vol-ec", vols: 3}, {name: "6vol-ec", vols: 6}} {
		t.Run(c.name, func(t *testing.T) {
			env := replayEnv(t, c)
			s := env.open()
			keys := []string{"k1", "k2", "k3", "k4"}
			for _, k := range keys {
				mustPut(t, s, k, value(k, 1, 20_000))
			}
			e, _ := shardBytes(t, s, "k1")
			m := s.codec.m
			paths := make([]string, len(s.vols))
			for v := range s.vols {
				paths[v] = s.vols[v].path
			}
			abandon(t, s)
			bad := make([]int, m+1)
			for i := range bad {
				bad[i] = i
				flipByte(t, env.vols[i]+"/"+segmentsDirName+"/"+segmentName(e.Segment), e.Offset+headerSize+int64(e.ShardLen)/2)
			}

			_, err := Open(env.cfg)
			var ce *CorruptError
			if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open over a damaged record: %v; want *CorruptError", err)
			}
			if ce.Segment != e.Segment || ce.Offset != e.Offset || ce.Next != e.Offset+e.recordSize() {
				t.Fatalf("error names segment %d offset %d (next %d); damaged record is segment %d offset %d", ce.Segment, ce.Offset, ce.Next, e.Segment, e.Offset)
			}
			var vols []int
			for _, f := range ce.Faults {
				vols = append(vols, f.Volume)
			}
			if !slices.Equal(vols, bad) {
				t.Fatalf("error names volumes %v, damaged %v", vols, bad)
			}
			msg := err.Error()
			for _, want := range []string{fmt.Sprintf("segment %d", e.Segment), fmt.Sprintf("offset %d", e.Offset), paths[0], "zgda storage repair"} {
				if !strings.Contains(msg, want) {
					t.Fatalf("message does not say %q: %s", want, msg)
				}
			}
			t.Logf("Open: %s", msg)

			// Check reports the same and changes nothing.
			for i := 0; i < 2; i++ {
				rep, err := Check(env.cfg)
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				if len(rep.Corrupt) != 1 || rep.Corrupt[0].Offset != e.Offset || rep.Corrupt[0].Segment != e.Segment || rep.Records != 3 {
					t.Fatalf("Check: %+v", rep)
				}
			}
			if _, err := Open(env.cfg); !errors.As(err, &ce) {
				t.Fatalf("Open after Check: %v; Check must not repair", err)
			}

			rep, err := Repair(env.cfg)
			if err != nil || len(rep.Corrupt) != 1 || rep.Corrupt[0].End != ce.Next {
				t.Fatalf("Repair: %v %+v", err, rep)
			}
			s = env.open()
			defer s.Close()
			if _, err := s.Get(context.Background(), []byte("k1")); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Get(k1) after repair dropped it: %v, want ErrNotFound", err)
			}
			for _, k := range keys[1:] {
				mustGet(t, s, k, value(k, 1, 20_000))
			}
		})
	}
}

// TestCorruptRecordInBatch: Repair never leaves half a batch.
func TestCorruptRecordInBatch(t *testing.T) {
	env := replayEnv(t, storeCase{vols: 1})
	s := env.open()
	mustPut(t, s, "before", value("before", 1, 9000))
	var b Batch
	for _, k := range []string{"b1", "b2", "b3"} {
		b.Put([]byte(k), value(k, 1, 9000))
	}
	if err := s.Write(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, "after", value("after", 1, 9000))
	e, _ := shardBytes(t, s, "b2")
	abandon(t, s)
	flipByte(t, env.vols[0]+"/"+segmentsDirName+"/"+segmentName(e.Segment), e.Offset+headerSize+100)
	rep, err := Repair(env.cfg)
	if err != nil || len(rep.Corrupt) != 1 {
		t.Fatalf("Repair: %v %+v", err, rep)
	}
	var got []string
	for _, k := range rep.Corrupt[0].BatchKeys {
		got = append(got, string(k))
	}
	if !slices.Equal(got, []string{"b1", "b3"}) {
		t.Fatalf("Repair dropped batch keys %q, want b1 and b3", got)
	}
	s = env.open()
	defer s.Close()
	for _, k := range []string{"b1", "b2", "b3"} {
		if ok, _ := s.Has(context.Background(), []byte(k)); ok {
			t.Fatalf("%s of the broken batch is visible after repair", k)
		}
	}
	mustGet(t, s, "before", value("before", 1, 9000))
	mustGet(t, s, "after", value("after", 1, 9000))
}

// TestTornTailDropped: what a crash leaves after the last record (a partial
// record, garbage) is dropped and everything before it replays.
func TestTornTailDropped(t *testing.T) {
	for _, c := range []storeCase{{name: "1vol", vols: 1}, {name: "6vol-ec", vols: 6}} {
		for _, tail := range []string{"partial-record", "garbage"} {
			t.Run(c.name+"/"+tail, func(t *testing.T) {
				env := replayEnv(t, c)
				s := env.open()
				keys := []string{"k1", "k2", "k3"}
				for _, k := range keys {
					mustPut(t, s, k, value(k, 1, 20_000))
				}
				e, raw := shardBytes(t, s, "k3")
				k, m := s.codec.k, s.codec.m
				abandon(t, s)
				end := e.Offset + e.recordSize()
				for v, p := range env.vols {
					f, err := os.OpenFile(p+"/"+segmentsDirName+"/"+segmentName(e.Segment), os.O_RDWR, 0)
					if err != nil {
						t.Fatal(err)
					}
					junk := value("junk", uint64(v), 3000)
					if tail == "partial-record" {
						var h [headerSize]byte
						(&shardHeader{Shard: uint8(v), K: uint8(k), M: uint8(m), Segment: e.Segment, Offset: end, Seq: 99,
							PayloadLen: 90_000, ShardLen: uint32(shardLenFor(90_000, k))}).encode(h[:])
						junk = append(h[:], raw[v][headerSize:headerSize+1000]...)
					}
					if _, err := f.WriteAt(junk, end); err != nil {
						t.Fatal(err)
					}
					f.Close()
				}
				rep, err := Check(env.cfg)
				if err != nil || len(rep.Corrupt) != 0 || len(rep.TornTails) != 1 || rep.TornTails[0].Offset != end {
					t.Fatalf("Check: %v %+v", err, rep)
				}
				s = env.open()
				defer s.Close()
				for _, k := range keys {
					mustGet(t, s, k, value(k, 1, 20_000))
				}
			})
		}
	}
}
