package cuda

import (
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/engine"
	"github.com/zgda/zgda/engine/api"
)

// TestEmulatedEngineConcurrentLent: an engine on a two-lane CUDA backend
// runs two encoders (zgda_engine_encoders 2), which encode two batches at
// the same time (each holds a lane while the other does), every batch's
// parity rows lent from a pinned output set, and every set is released
// once its batch is final (zgda_engine_parity_batches_total: lent ==
// released == batches, none in Go memory; the backend lends none after).
func TestEmulatedEngineConcurrentLent(t *testing.T) {
	be, enc := emuEncoder(t, WithLanes(2), WithOutputSets(4))
	var timedOut atomic.Bool
	holdLanes(be, 2, time.Minute, &timedOut)
	e, ctx := startEngine(t, emuCommitter(t), enc)
	if g := engineGauge(t, e, "zgda_engine_encoders"); g != 2 {
		t.Fatalf("zgda_engine_encoders %v, want 2", g)
	}

	// Two posts, the second once the first is encoding: the first batch's
	// encoding waits in its lane until the second's holds the other lane.
	r := rand.New(rand.NewPCG(66, 67))
	var keys []da.BlobKey
	waitFor := func(k da.BlobKey, done func(api.Status) bool) {
		t.Helper()
		for {
			st, err := e.Status(ctx, k)
			if err != nil {
				t.Fatal(err)
			}
			if done(st.Status) {
				return
			}
			select {
			case <-ctx.Done():
				t.Fatalf("blob %s still %s", k, st.Status)
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	for i := range 2 {
		blob := make([]byte, (i+1)*encoder.BytesPerRow-i)
		for j := range blob {
			blob[j] = byte(r.Uint32())
		}
		res, err := e.Put(ctx, blob)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, res.BlobKey)
		waitFor(res.BlobKey, func(s api.Status) bool { return s != api.StatusQueued })
	}
	for _, k := range keys { // no disperser: each batch is encoded, then fails
		waitFor(k, func(s api.Status) bool { return s == api.StatusFailed || s == api.StatusCertified })
	}
	if timedOut.Load() {
		t.Fatal("the engine never encoded two batches at once")
	}
	var m map[string]float64
	for { // a batch is released just after its blobs are recorded final
		m = engineCounter(t, e, "zgda_engine_parity_batches_total", "event")
		if m["released"] == m["lent"] {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("parity rows lent %v, released %v", m["lent"], m["released"])
		case <-time.After(10 * time.Millisecond):
		}
	}
	if m["lent"] < 2 || m["go"] != 0 {
		t.Fatalf("parity rows lent %v, in Go memory %v; want every batch (at least 2) lent", m["lent"], m["go"])
	}
	if _, lent, lends := be.OutputSets(); lent != 0 || float64(lends) != m["lent"] {
		t.Fatalf("the backend has %d output sets lent and lent %d in all; the engine counted %v", lent, lends, m["lent"])
	}
}

// engineCounter reads a counter vector of the engine's registry by label.
func engineCounter(t *testing.T, e *engine.Engine, name, label string) map[string]float64 {
	t.Helper()
	mfs, err := e.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label {
					out[l.GetValue()] = m.GetCounter().GetValue()
				}
			}
		}
	}
	return out
}

// engineGauge reads a gauge of the engine's registry.
func engineGauge(t *testing.T, e *engine.Engine, name string) float64 {
	t.Helper()
	mfs, err := e.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no gauge %s", name)
	return 0
}
