package storage

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Power-loss tests. The store runs on the strict in-memory filesystem
// (vfs.NewCrashableMem: segments, manifests and Pebble's files alike); a
// power loss is env.crash(), a CrashClone that keeps exactly what was synced
// — file data and directory entries. Unlike the SIGKILL test (TestCrash),
// which keeps the page cache, this one sees a missing fsync:
// TestPowerLossCatchesMissingSync skips one and watches it fail.

func powerLossTrials() int {
	if os.Getenv("ZGDA_LONG") != "" {
		return 200
	}
	if testing.Short() {
		return 8
	}
	return 30
}

// TestPowerLoss: writers on every configuration, power lost at random
// moments (while writing, rolling, checkpointing, compacting, and during the
// replay of the previous loss), several losses in a row on the same store;
// then every acknowledged write must read back (checkCrashState).
func TestPowerLoss(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("ZGDA_CRASH_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (set ZGDA_CRASH_SEED to replay)", seed)
	rng := rand.New(rand.NewPCG(seed, 7))
	for i := 0; i < powerLossTrials(); i++ {
		c := storeCases[i%len(storeCases)]
		c.mem = true
		rounds := 1 + rng.IntN(3)
		trialSeed := rng.Uint64()
		t.Run(fmt.Sprintf("trial%03d-%s-%drounds", i, c.name, rounds), func(t *testing.T) {
			if err := runPowerLossTrial(t, c, powerLoss{rounds: rounds, writers: 2, seed: trialSeed, rebuild: i%3 == 0}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// powerLoss shapes one trial.
type powerLoss struct {
	rounds  int
	writers int
	seed    uint64
	opts    []Option
	// crashAt, if set, decides after each acknowledged write whether power
	// is lost now (instead of after a random delay).
	crashAt func() bool
	// rebuild: after the check, also rebuild the index from the volumes
	// alone and require the same keys and values.
	rebuild bool
}

// runPowerLossTrial runs rounds of writers, each ended by a power loss, and
// checks the store reopened after the last one.
func runPowerLossTrial(t *testing.T, c storeCase, p powerLoss) error {
	env := newEnv(t, c)
	rng := rand.New(rand.NewPCG(p.seed, 1))
	var ops []*crashOp
	byID := map[uint64]*crashOp{}
	for round := 0; round < p.rounds; round++ {
		env.cfg = crashConfig(env.dir, c, rng.IntN(2) == 0)
		if p.crashAt != nil {
			env.cfg.Compaction.Interval = 0 // nothing but the writer syncs
		}
		var mu sync.Mutex
		var lines []string
		report := func(format string, args ...any) {
			mu.Lock()
			lines = append(lines, fmt.Sprintf(format, args...))
			mu.Unlock()
		}
		var once sync.Once
		crashed := make(chan *testEnv, 1)
		var acked []string
		crash := func() {
			once.Do(func() {
				// Acks seen before the loss must survive it; operations
				// begun before it (seen after) may or may not.
				mu.Lock()
				acked = append([]string{}, lines...)
				mu.Unlock()
				crashed <- env.crash()
			})
		}

		// Sometimes the power goes while Open replays the previous loss.
		if round > 0 && p.crashAt == nil && rng.IntN(3) == 0 {
			delay := time.Duration(rng.IntN(3000)) * time.Microsecond
			timer := time.AfterFunc(delay, crash)
			s, err := Open(env.cfg, env.options(p.opts)...)
			timer.Stop()
			crash()
			if err == nil {
				s.Close()
			}
			env = <-crashed
			continue
		}
		s, err := Open(env.cfg, env.options(p.opts)...)
		if err != nil {
			return fmt.Errorf("round %d: open after power loss: %w", round, err)
		}
		var afterAck func()
		if p.crashAt != nil {
			afterAck = func() {
				if p.crashAt() {
					crash()
				}
			}
		}
		var nextID atomic.Uint64
		nextID.Store(uint64(round)*1_000_000 + 1)
		var wg sync.WaitGroup
		writerSeed := rng.Uint64()
		for w := 0; w < p.writers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				crashWriter(s, w, writerSeed, &nextID, report, afterAck)
			}()
		}
		if p.crashAt == nil {
			time.Sleep(time.Duration(1+rng.IntN(60)) * time.Millisecond)
			crash()
		}
		next := <-crashed
		s.Close() // the writers stop at their next operation
		wg.Wait()
		mu.Lock()
		for _, l := range lines {
			if strings.HasPrefix(l, "ERR") && !strings.Contains(l, ErrClosed.Error()) {
				mu.Unlock()
				return fmt.Errorf("round %d: writer failed before the power loss: %s", round, l)
			}
		}
		all := lines
		mu.Unlock()
		if err := parseCrashLines(all, "B", &ops, byID); err != nil {
			return err
		}
		if err := parseCrashLines(acked, "A", &ops, byID); err != nil {
			return err
		}
		env = next
	}
	env.cfg.Compaction.Interval = 0
	s, err := Open(env.cfg, env.options(p.opts)...)
	if err != nil {
		return fmt.Errorf("open after the last power loss: %w", err)
	}
	if err := checkCrashState(t, s, ops); err != nil {
		s.Close()
		return err
	}
	if !p.rebuild {
		return s.Close()
	}
	want := snapshot(t, s)
	s.Close()
	if _, err := RebuildIndex(env.cfg, env.options(p.opts)...); err != nil {
		return fmt.Errorf("rebuilding the index after the power loss: %w", err)
	}
	s, err = Open(env.cfg, env.options(p.opts)...)
	if err != nil {
		return fmt.Errorf("open after the rebuild: %w", err)
	}
	defer s.Close()
	got := snapshot(t, s)
	for k, v := range want {
		if got[k] != v {
			return fmt.Errorf("after the rebuild key %q differs (present: %v)", k, got[k] != "")
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			return fmt.Errorf("after the rebuild key %q came back", k)
		}
	}
	return nil
}

// syncHookFS passes everything to its fsys but lets a test skip syncs.
type syncHookFS struct {
	fsys
	skip func(op, path string) bool // op: "data" or "dir"
}

type syncHookFile struct {
	file
	fs   *syncHookFS
	path string
}

func (h *syncHookFS) OpenFile(name string, create bool) (file, error) {
	f, err := h.fsys.OpenFile(name, create)
	if err != nil {
		return nil, err
	}
	return syncHookFile{f, h, name}, nil
}

func (h *syncHookFS) SyncDir(dir string) error {
	if h.skip("dir", dir) {
		return nil
	}
	return h.fsys.SyncDir(dir)
}

func (f syncHookFile) SyncData() error {
	if f.fs.skip("data", f.path) {
		return nil
	}
	return f.file.SyncData()
}

// TestPowerLossCatchesMissingSync shows the harness sees each sync the
// store relies on: skipping one of them (a group's fdatasync, or the
// directory sync that makes a new segment file survive) on more volumes
// than the parity covers, and losing power right after the write it should
// have covered is acknowledged, makes the power-loss check fail; the same
// run without the skip passes.
func TestPowerLossCatchesMissingSync(t *testing.T) {
	hooks := []struct {
		name   string
		op     string
		suffix string
		nth    int64
	}{
		{"segment-fdatasync", "data", segmentExt, 4},    // the 4th group's fdatasync
		{"segment-dir-sync", "dir", segmentsDirName, 1}, // the directory entry of the segment Open starts
	}
	for _, c := range []storeCase{{name: "1vol", vols: 1, mem: true}, {name: "6vol-ec", vols: 6, parity: 1, mem: true}} {
		for _, h := range hooks {
			for _, skip := range []bool{true, false} {
				t.Run(fmt.Sprintf("%s/%s/skip=%v", c.name, h.name, skip), func(t *testing.T) {
					var fired atomic.Bool
					var acks atomic.Int64
					p := powerLoss{rounds: 1, writers: 1, seed: 42, crashAt: func() bool {
						// Power is lost right after the write the skipped
						// sync should have made durable is acknowledged
						// (or after 8 writes when nothing is skipped).
						return fired.Load() || acks.Add(1) == 8
					}}
					if skip {
						var mu sync.Mutex
						count := map[string]int64{}
						hook := func(op, path string) bool {
							// m+1 = 2 volumes (one with a single volume).
							vol := ""
							for _, v := range []string{"/vol0/", "/vol1/"} {
								if strings.Contains(path+"/", v) {
									vol = v
								}
							}
							if op != h.op || vol == "" || !strings.HasSuffix(path, h.suffix) {
								return false
							}
							mu.Lock()
							defer mu.Unlock()
							count[vol]++
							if count[vol] == h.nth {
								fired.Store(true)
								return true
							}
							return false
						}
						p.opts = []Option{func(o *options) {
							o.wrapFS = func(f fsys) fsys { return &syncHookFS{fsys: f, skip: hook} }
						}}
					}
					err := runPowerLossTrial(t, c, p)
					switch {
					case skip && err == nil:
						t.Fatalf("a skipped %s went unnoticed", h.name)
					case skip:
						t.Logf("caught: %v", err)
					case err != nil:
						t.Fatal(err)
					}
				})
			}
		}
	}
}
