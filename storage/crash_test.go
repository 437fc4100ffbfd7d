package storage

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Crash tests with real processes. The test binary re-executes itself as a
// writer child (TestCrashChild, switched on by an environment variable). The
// child writes puts, deletes and atomic batches from two goroutines and
// reports on fd 3 a "B" line before each operation and an "A" line after it
// returns. The parent SIGKILLs it at a random moment (sometimes during Open,
// while it replays the previous crash), possibly several rounds in a row on
// the same directories, then opens the store itself and checks every key:
//
//   - a key whose last operation was acknowledged reads back exactly that
//     state (byte-identical value, or absent after a delete), or the state of
//     an operation begun after it but not acknowledged;
//   - an unacknowledged operation is either wholly visible or not at all —
//     a value is never partial and a batch is never half applied;
//   - no key exists that nobody wrote; a scrub finds nothing to repair.
//
// Small segments, frequent checkpoints and background compaction make the
// kills land in rolls, checkpoints and compaction moves too.

const crashChildEnv = "ZGDA_STORAGE_CRASH_CHILD"

func crashTrials() int {
	if os.Getenv("ZGDA_LONG") != "" {
		return 60
	}
	if testing.Short() {
		return 2
	}
	return 5
}

func crashConfig(dir string, c storeCase, lazyCheckpoints bool) Config {
	var vols []string
	for i := 0; i < c.vols; i++ {
		vols = append(vols, filepath.Join(dir, fmt.Sprintf("vol%d", i)))
	}
	cfg := TestConfig(dir, vols)
	cfg.Volumes.Parity = c.parity
	cfg.Log.SyncIndex = c.syncIndex
	cfg.Log.SegmentSize = 256 << 10
	cfg.Log.CheckpointBytes = 512 << 10
	cfg.Log.CheckpointInterval = 30 * time.Millisecond
	cfg.Compaction.Interval = 15 * time.Millisecond
	cfg.Compaction.MinGarbageRatio = 0.3
	if lazyCheckpoints {
		// Everything since Open is replayed from the log after the kill.
		cfg.Log.CheckpointBytes = 1 << 30
		cfg.Log.CheckpointInterval = time.Hour
	}
	return cfg
}

func TestCrash(t *testing.T) {
	if _, err := os.Executable(); err != nil {
		t.Skip("cannot re-execute the test binary:", err)
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("ZGDA_CRASH_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (set ZGDA_CRASH_SEED to replay)", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	n := crashTrials()
	for i := 0; i < n; i++ {
		c := storeCases[i%len(storeCases)]
		rounds := 1 + rng.IntN(3)
		trialSeed := rng.Uint64()
		t.Run(fmt.Sprintf("trial%02d-%s-%drounds", i, c.name, rounds), func(t *testing.T) {
			runCrashTrial(t, c, rounds, trialSeed)
		})
	}
}

// crashOp is one operation the child began.
type crashOp struct {
	id    uint64
	kind  byte // 'P' put, 'D' delete, 'T' batch
	keys  []string
	lens  []int
	acked bool
}

func runCrashTrial(t *testing.T, c storeCase, rounds int, seed uint64) {
	dir := t.TempDir()
	for i := 0; i < c.vols; i++ {
		if err := os.Mkdir(filepath.Join(dir, fmt.Sprintf("vol%d", i)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	var ops []*crashOp
	byID := map[uint64]*crashOp{}
	for round := 0; round < rounds; round++ {
		early := round > 0 && rng.IntN(3) == 0
		delay := time.Duration(20+rng.IntN(380)) * time.Millisecond
		if early {
			delay = time.Duration(rng.IntN(40)) * time.Millisecond
		}
		lines, stderr := runCrashChild(t, dir, c, round, rng.Uint64(), delay, early, rng.IntN(2) == 0)
		for _, l := range lines {
			if strings.HasPrefix(l, "ERR") {
				t.Fatalf("round %d: child failed: %s\nstderr:\n%s", round, l, stderr)
			}
		}
		if err := parseCrashLines(lines, "BA", &ops, byID); err != nil {
			t.Fatal(err)
		}
	}
	cfg := crashConfig(dir, c, false)
	cfg.Compaction.Interval = 0
	s, err := Open(cfg)
	if err != nil {
		t.Fatalf("reopen after crash: %v", err)
	}
	defer s.Close()
	if err := checkCrashState(t, s, ops); err != nil {
		t.Fatal(err)
	}
}

// parseCrashLines reads a writer's report lines of the given kinds ('B'
// begun, 'A' acknowledged) into ops.
func parseCrashLines(lines []string, kinds string, ops *[]*crashOp, byID map[uint64]*crashOp) error {
	for _, l := range lines {
		f := strings.Fields(l)
		switch {
		case len(f) == 1 && f[0] == "READY", len(f) >= 2 && f[0] == "ERR":
		case len(f) == 2 && f[0] == "A":
			if !strings.Contains(kinds, "A") {
				continue
			}
			id, _ := strconv.ParseUint(f[1], 10, 64)
			op := byID[id]
			if op == nil {
				return fmt.Errorf("ack for unknown op %d", id)
			}
			op.acked = true
		case len(f) >= 4 && f[0] == "B":
			if !strings.Contains(kinds, "B") {
				continue
			}
			id, _ := strconv.ParseUint(f[1], 10, 64)
			op := &crashOp{id: id, kind: f[2][0]}
			rest := f[3:]
			for len(rest) >= 2 {
				n, _ := strconv.Atoi(rest[1])
				op.keys = append(op.keys, rest[0])
				op.lens = append(op.lens, n)
				rest = rest[2:]
			}
			*ops = append(*ops, op)
			byID[id] = op
		default:
			return fmt.Errorf("unparsable line from a writer: %q", l)
		}
	}
	return nil
}

// checkCrashState checks a store reopened after crashes against the
// operations begun and acknowledged before them (see the file comment).
func checkCrashState(t testing.TB, s *Store, ops []*crashOp) error {
	// Per key: the operations that touched it, in the order each writer
	// issued them (a key belongs to one writer, so this is their order).
	type touch struct {
		op  *crashOp
		idx int
	}
	perKey := map[string][]touch{}
	acked := 0
	for _, op := range ops {
		if op.acked {
			acked++
		}
		for i, k := range op.keys {
			perKey[k] = append(perKey[k], touch{op, i})
		}
	}
	if acked == 0 && !testing.Short() {
		t.Logf("no operation was acknowledged before the kill")
	}

	ctx := context.Background()
	state := func(tc touch) []byte { // nil = absent
		if tc.op.kind == 'D' {
			return nil
		}
		return value(tc.op.keys[tc.idx], tc.op.id, tc.op.lens[tc.idx])
	}
	visible := map[uint64]map[bool]int{} // batch op → present? → count
	for k, ts := range perKey {
		last := -1
		for i, tc := range ts {
			if tc.op.acked {
				last = i
			}
		}
		var allowed [][]byte
		if last >= 0 {
			allowed = append(allowed, state(ts[last]))
		} else {
			allowed = append(allowed, nil)
		}
		for _, tc := range ts[last+1:] {
			allowed = append(allowed, state(tc))
		}
		got, err := s.Get(ctx, []byte(k))
		if errors.Is(err, ErrNotFound) {
			got = nil
		} else if err != nil {
			return fmt.Errorf("Get(%q): %w", k, err)
		} else if got == nil {
			got = []byte{}
		}
		ok := false
		for _, a := range allowed {
			if (a == nil) == (got == nil) && bytes.Equal(a, got) {
				ok = true
			}
		}
		if !ok {
			var tail []*crashOp
			for _, tc := range ts[max(0, last):] {
				tail = append(tail, tc.op)
			}
			return fmt.Errorf("key %q: got %s, allowed %d states (last acked op index %d of %d); ops from there: %s",
				k, describe(got), len(allowed), last, len(ts), describeOps(tail))
		}
		for _, tc := range ts {
			if tc.op.kind == 'T' && !tc.op.acked {
				if visible[tc.op.id] == nil {
					visible[tc.op.id] = map[bool]int{}
				}
				visible[tc.op.id][got != nil]++
			}
		}
	}
	for id, v := range visible {
		if v[true] > 0 && v[false] > 0 {
			return fmt.Errorf("unacknowledged batch %d is half visible: %d keys present, %d absent", id, v[true], v[false])
		}
	}
	// Nothing exists that was not written.
	it, err := s.NewIter(ctx, nil)
	if err != nil {
		return err
	}
	defer it.Close()
	for it.Next() {
		if _, ok := perKey[string(it.Key())]; !ok {
			return fmt.Errorf("key %q exists but was never written", it.Key())
		}
	}
	if err := it.Err(); err != nil {
		return err
	}
	rep, err := s.Scrub(ctx)
	if err != nil || len(rep.Unrecoverable) > 0 {
		return fmt.Errorf("scrub after crash: %v %+v", err, rep)
	}
	t.Logf("%d ops (%d acked), %d keys checked, %d records replayed, scrub verified %d records",
		len(ops), acked, len(perKey), s.Stats().ReplayedRecords, rep.Records)
	return nil
}

func describe(b []byte) string {
	if b == nil {
		return "absent"
	}
	return fmt.Sprintf("%d bytes", len(b))
}

func describeOps(ops []*crashOp) string {
	var parts []string
	for _, o := range ops {
		parts = append(parts, fmt.Sprintf("%c#%d(acked=%v)", o.kind, o.id, o.acked))
	}
	return strings.Join(parts, " ")
}

// runCrashChild starts one child, kills it after delay (counted from READY
// unless early) and returns the complete lines it reported.
func runCrashChild(t *testing.T, dir string, c storeCase, round int, seed uint64, delay time.Duration, early, lazy bool) ([]string, string) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(),
		crashChildEnv+"=1",
		"ZGDA_CRASH_DIR="+dir,
		fmt.Sprintf("ZGDA_CRASH_VOLS=%d", c.vols),
		fmt.Sprintf("ZGDA_CRASH_SYNCINDEX=%v", c.syncIndex),
		fmt.Sprintf("ZGDA_CRASH_ROUND=%d", round),
		fmt.Sprintf("ZGDA_CRASH_CHILD_SEED=%d", seed),
		fmt.Sprintf("ZGDA_CRASH_LAZY=%v", lazy),
	)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = &stderr
	cmd.ExtraFiles = []*os.File{pw}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	var lines []string
	ready := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		r := bufio.NewReader(pr)
		once := sync.Once{}
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				return // a partial last line is dropped: it was never complete
			}
			l = strings.TrimSuffix(l, "\n")
			lines = append(lines, l)
			if l == "READY" || strings.HasPrefix(l, "ERR") {
				once.Do(func() { close(ready) })
			}
		}
	}()
	if !early {
		select {
		case <-ready:
		case <-done:
		case <-time.After(30 * time.Second):
			t.Log("child not ready after 30s")
		}
	}
	time.Sleep(delay)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	<-done
	pr.Close()
	return lines, stderr.String()
}

// TestCrashChild is the writer process of TestCrash; it does nothing in a
// normal test run.
func TestCrashChild(t *testing.T) {
	if os.Getenv(crashChildEnv) != "1" {
		t.Skip("helper process for TestCrash")
	}
	out := os.NewFile(3, "acks")
	var outMu sync.Mutex
	report := func(format string, args ...any) {
		line := fmt.Sprintf(format+"\n", args...)
		outMu.Lock()
		io.WriteString(out, line) // one write per line: the parent never sees a torn line as whole
		outMu.Unlock()
	}
	vols, _ := strconv.Atoi(os.Getenv("ZGDA_CRASH_VOLS"))
	round, _ := strconv.ParseUint(os.Getenv("ZGDA_CRASH_ROUND"), 10, 64)
	seed, _ := strconv.ParseUint(os.Getenv("ZGDA_CRASH_CHILD_SEED"), 10, 64)
	c := storeCase{vols: vols, syncIndex: os.Getenv("ZGDA_CRASH_SYNCINDEX") == "true"}
	s, err := Open(crashConfig(os.Getenv("ZGDA_CRASH_DIR"), c, os.Getenv("ZGDA_CRASH_LAZY") == "true"))
	if err != nil {
		report("ERR %v", strings.ReplaceAll(err.Error(), "\n", " "))
		os.Exit(2)
	}
	report("READY")
	var nextID atomic.Uint64
	nextID.Store(round*1_000_000 + 1)
	for w := 0; w < 2; w++ {
		go crashWriter(s, w, seed, &nextID, report, nil)
	}
	time.Sleep(60 * time.Second) // the parent kills us long before this
	os.Exit(3)
}

// crashWriter writes puts, deletes and atomic batches on keys of its own
// (w) until an operation fails, reporting "B" before and "A" after each.
// afterAck, if set, runs after each "A".
func crashWriter(s *Store, w int, seed uint64, nextID *atomic.Uint64, report func(string, ...any), afterAck func()) {
	ctx := context.Background()
	sizes := func(r *rand.Rand) int {
		switch r.IntN(10) {
		case 0, 1, 2:
			return r.IntN(200)
		case 3, 4:
			return 3000 + r.IntN(3000) // around the inline limit
		case 9:
			if r.IntN(4) == 0 {
				return 300_000 + r.IntN(300_000) // larger than a segment
			}
		}
		return 10_000 + r.IntN(90_000)
	}
	r := rand.New(rand.NewPCG(seed, uint64(w)))
	for {
		id := nextID.Add(1)
		switch x := r.IntN(10); {
		case x < 6:
			k := fmt.Sprintf("w%d/%d", w, r.IntN(40))
			n := sizes(r)
			report("B %d P %s %d", id, k, n)
			if err := s.Put(ctx, []byte(k), value(k, id, n)); err != nil {
				report("ERR put: %v", err)
				return
			}
		case x < 8:
			k := fmt.Sprintf("w%d/%d", w, r.IntN(40))
			report("B %d D %s 0", id, k)
			if err := s.Delete(ctx, []byte(k)); err != nil {
				report("ERR delete: %v", err)
				return
			}
		default:
			var b Batch
			var desc strings.Builder
			for j := 0; j < 2+r.IntN(4); j++ {
				k := fmt.Sprintf("b%d/%d/%d", w, id, j)
				n := sizes(r)
				b.Put([]byte(k), value(k, id, n))
				fmt.Fprintf(&desc, " %s %d", k, n)
			}
			report("B %d T%s", id, desc.String())
			if err := s.Write(ctx, &b); err != nil {
				report("ERR batch: %v", err)
				return
			}
		}
		report("A %d", id)
		if afterAck != nil {
			afterAck()
		}
	}
}
