package storage

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestBackground: with intervals set, the scrubber heals, the compactor
// reclaims and the pruner prunes on their own, and Close stops them.
func TestBackground(t *testing.T) {
	env := newEnv(t, storeCase{vols: 3})
	env.cfg.Log.SegmentSize = 64 << 10
	env.cfg.Scrub.Interval = 5 * time.Millisecond
	env.cfg.Compaction.Interval = 5 * time.Millisecond
	env.cfg.Retention.Interval = 5 * time.Millisecond
	env.cfg.Retention.Rules = []RetentionRule{{Prefix: []byte("row/"), KeepEpochs: 1}}
	s := env.open()
	for i := 0; i < 30; i++ {
		k := fmt.Sprintf("row/%d", i)
		mustPut(t, s, k, value(k, 1, 20_000), WithEpoch(1))
	}
	mustPut(t, s, "blob/x", value("blob/x", 1, 20_000))
	e, orig := shardBytes(t, s, "blob/x")
	flipByte(t, s.vols[2].segPath(e.Segment), e.Offset+headerSize+7)

	waitFor(t, "scrubber repair", func() bool { return s.Stats().Repairs > 0 })
	_, now := shardBytes(t, s, "blob/x")
	if string(now[2]) != string(orig[2]) {
		t.Fatal("background scrub did not restore the shard")
	}
	s.SetEpoch(5)
	waitFor(t, "pruning", func() bool { return s.Stats().Pruned == 30 })
	waitFor(t, "compaction", func() bool { return s.Stats().CompactedSegments > 0 })
	mustGet(t, s, "blob/x", value("blob/x", 1, 20_000))

	done := make(chan error)
	go func() { done <- s.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not stop the background work")
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestMetrics: collectors go on the registry given, never the global one,
// and come off it at Close.
func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	env := newEnv(t, storeCase{vols: 2})
	s := env.open(WithRegisterer(reg))
	mustPut(t, s, "k", value("k", 1, 10_000))
	mustGet(t, s, "k", value("k", 1, 10_000))
	got := gather(t, reg)
	for _, name := range []string{"zgda_storage_puts_total", "zgda_storage_gets_total"} {
		if got[name] != 1 {
			t.Fatalf("%s = %v, want 1 (have %d metrics)", name, got[name], len(got))
		}
	}
	if got["zgda_storage_live_bytes"] <= 0 {
		t.Fatalf("zgda_storage_live_bytes = %v", got["zgda_storage_live_bytes"])
	}
	// A second store on the same registry is refused, not silently merged.
	env2 := newEnv(t, storeCase{vols: 1})
	if _, err := Open(env2.cfg, WithRegisterer(reg)); err == nil {
		t.Fatal("two stores registered the same metrics")
	}
	s.Close()
	if n := len(gather(t, reg)); n != 0 {
		t.Fatalf("%d metrics left registered after Close", n)
	}
	if _, err := Open(env2.cfg, WithRegisterer(reg)); err != nil {
		t.Fatalf("Open after the first store closed: %v", err)
	}
}

func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch {
			case m.GetCounter() != nil:
				out[mf.GetName()] = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				out[mf.GetName()] = m.GetGauge().GetValue()
			}
		}
	}
	return out
}
