package storage

import (
	"context"
	"testing"
	"time"
)

func TestSyncBarrier(t *testing.T) {
	for _, tc := range []struct {
		name     string
		n        int
		arrivals int
		waits    bool // wait should run into syncBarrierWait
	}{
		{"none", 0, 0, false},
		{"one", 1, 1, false},
		{"all-arrived", 6, 6, false},
		{"one-missing", 6, 5, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newSyncBarrier(tc.n)
			for range tc.arrivals {
				b.arrive()
			}
			t0 := time.Now()
			b.wait()
			d := time.Since(t0)
			if tc.waits && d < syncBarrierWait {
				t.Fatalf("wait returned after %v, before syncBarrierWait (%v) with a volume missing", d, syncBarrierWait)
			}
			if !tc.waits && d >= syncBarrierWait {
				t.Fatalf("wait took %v with every volume arrived", d)
			}
		})
	}
}

// TestSyncBarrierReleases: a sync waiting for the other volumes starts as
// soon as the last one arrives.
func TestSyncBarrierReleases(t *testing.T) {
	b := newSyncBarrier(2)
	b.arrive()
	done := make(chan struct{})
	go func() { b.wait(); close(done) }()
	b.arrive()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("wait did not return after the last arrival")
	}
}

// TestFilesystemGroups: volumes on one filesystem (a test's temporary
// directory, or the in-memory filesystem) share one sync barrier per group
// commit, and writes through it read back.
func TestFilesystemGroups(t *testing.T) {
	for _, mem := range []bool{false, true} {
		c := storeCase{vols: 6, mem: mem}
		name := "os"
		if mem {
			name = "mem"
		}
		t.Run(name, func(t *testing.T) {
			env := newEnv(t, c)
			s := env.open()
			defer s.Close()
			info, err := s.fs.Stat(env.vols[0])
			if err != nil {
				t.Fatal(err)
			}
			_, known := deviceOf(info)
			if info.Sys() == nil || known {
				for v, g := range s.fsGroup {
					if g != s.fsGroup[0] {
						t.Fatalf("volume %d is in filesystem group %d, volume 0 in %d; all share one filesystem", v, g, s.fsGroup[0])
					}
				}
				if s.nfsGroup != 1 {
					t.Fatalf("%d filesystem groups, want 1", s.nfsGroup)
				}
			} else if s.nfsGroup != len(s.vols) {
				t.Fatalf("%d filesystem groups where filesystems cannot be told apart, want %d", s.nfsGroup, len(s.vols))
			}
			bars := s.syncBarriers([]int{0, 1, 2, 3, 4, 5})
			if s.nfsGroup == 1 && (bars[0] != bars[5] || bars[0].left.Load() != 6) {
				t.Fatalf("volumes of one filesystem got different barriers or a wrong count (%d)", bars[0].left.Load())
			}
			ctx := context.Background()
			for i := range 20 {
				k := []byte{'k', byte(i)}
				if err := s.Put(ctx, k, value("fsgroup", uint64(i), 64<<10)); err != nil {
					t.Fatal(err)
				}
				got, err := s.Get(ctx, k)
				if err != nil || string(got) != string(value("fsgroup", uint64(i), 64<<10)) {
					t.Fatalf("key %d: read back %d bytes, err %v", i, len(got), err)
				}
			}
		})
	}
}
