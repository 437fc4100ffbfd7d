package cuda

import (
	"context"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/engine"
	"github.com/zgda/zgda/engine/api"
	"github.com/zgda/zgda/kzg"
)

var _ engine.ResidentCommitter = (*Committer)(nil)

// residentBlobs commits random blobs of the given sizes with
// CommitBlobsResident and returns them as encoder blobs carrying their
// device rows (released when the test ends).
func residentBlobs(t *testing.T, com *Committer, r *rand.Rand, sizes ...int) []*encoder.Blob {
	t.Helper()
	data := make([][]byte, len(sizes))
	for i, n := range sizes {
		data[i] = make([]byte, n)
		for j := range data[i] {
			data[i][j] = byte(r.Uint32())
		}
	}
	per, handles, err := com.CommitBlobsResident(context.Background(), data, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, h := range handles {
			com.ReleaseRows(h)
		}
	})
	blobs := make([]*encoder.Blob, len(data))
	for i := range data {
		rows, err := encoder.Pack(data[i])
		if err != nil {
			t.Fatal(err)
		}
		if blobs[i], err = encoder.NewBlob(len(data[i]), rows, per[i]); err != nil {
			t.Fatal(err)
		}
		blobs[i].Device = handles[i]
	}
	return blobs
}

func sameBatch(t *testing.T, what string, got, want *encoder.Batch) {
	t.Helper()
	if got.Root != want.Root || got.D != want.D || got.N != want.N {
		t.Fatalf("%s: root %s, D %d, N %d; CPU: %s, %d, %d", what, got.Root, got.D, got.N, want.Root, want.D, want.N)
	}
	if !slices.Equal(got.Commitments, want.Commitments) {
		t.Fatalf("%s: commitments differ from the CPU encoder's", what)
	}
	equalRows(t, what, got.Rows, want.Rows)
}

// TestEmulatedEncodeBatchResident: encoder.EncodeBatch reads the rows
// CommitBlobsResident kept (encoder.ResidentBatchBackend) and gives the CPU
// encoder's batch, rows and commitments, for a batch of mixed sizes whose D
// (7) is not a power of two; with one blob's device rows missing it uploads
// the rows instead, with the same result; released rows are refused.
func TestEmulatedEncodeBatchResident(t *testing.T) {
	com, be := emuCommitter(t), emuBackend(t)
	ctx := context.Background()
	enc, err := encoder.New(encoder.WithBackend(be))
	if err != nil {
		t.Fatal(err)
	}
	cpu, err := encoder.New()
	if err != nil {
		t.Fatal(err)
	}
	blobs := residentBlobs(t, com, rand.New(rand.NewPCG(40, 41)), 2*encoder.BytesPerRow+5, 1000, 3*encoder.BytesPerRow)
	host := make([]*encoder.Blob, len(blobs))
	for i, b := range blobs {
		h := *b
		h.Device = nil
		host[i] = &h
	}
	want, err := cpu.EncodeBatch(ctx, kzg.Default(), host, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := enc.EncodeBatch(ctx, kzg.Default(), blobs, nil)
	if err != nil {
		t.Fatal(err)
	}
	sameBatch(t, "resident rows", got, want)

	dev := blobs[1].Device
	blobs[1].Device = nil
	if got, err = enc.EncodeBatch(ctx, kzg.Default(), blobs, nil); err != nil {
		t.Fatal(err)
	}
	sameBatch(t, "one blob uploaded", got, want)

	if err := com.ReleaseRows(dev); err != nil {
		t.Fatal(err)
	}
	blobs[1].Device = dev
	if _, err := enc.EncodeBatch(ctx, kzg.Default(), blobs, nil); err == nil {
		t.Fatal("EncodeBatch read released device rows")
	}
}

// startEngine starts an engine with no disperser or chain (its posts stop
// once stored and encoded) on com and enc, and a context for its calls;
// both end with the test.
func startEngine(t *testing.T, com *Committer, enc *encoder.Encoder) (*engine.Engine, context.Context) {
	t.Helper()
	cfg := engine.TestConfig(t.TempDir())
	for _, v := range cfg.Storage.Volumes {
		if err := os.MkdirAll(v, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cfg.Dispersal.Attempts = 1
	e, err := engine.New(cfg, nil, nil, engine.WithCommitter(com), engine.WithEncoder(enc))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	if err := e.Start(ctx); err != nil {
		e.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e, ctx
}

// TestEmulatedEngineDeviceRows: an engine whose committer is the CUDA one
// keeps every post's rows on the device at intake and releases them once
// their batch is encoded (engine.ResidentCommitter), so that rounds of
// posts adding up to more rows than the device store holds are all kept
// (the emulated build's store holds 16 rows).
func TestEmulatedEngineDeviceRows(t *testing.T) {
	com, be := emuCommitter(t), emuBackend(t)
	enc, err := encoder.New(encoder.WithBackend(be))
	if err != nil {
		t.Fatal(err)
	}
	e, ctx := startEngine(t, com, enc)

	r := rand.New(rand.NewPCG(42, 43))
	const rounds, rows = 3, 6 // 18 rows through the emulated build's store of 16
	for round := range rounds {
		blob := make([]byte, rows*encoder.BytesPerRow)
		for j := range blob {
			blob[j] = byte(r.Uint32())
		}
		res, err := e.Put(ctx, blob)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		for { // no disperser: the batch is encoded, then fails
			st, err := e.Status(ctx, res.BlobKey)
			if err != nil {
				t.Fatal(err)
			}
			if st.Status != api.StatusQueued && st.Status != api.StatusEncoding {
				break
			}
			select {
			case <-ctx.Done():
				t.Fatalf("round %d: still %s", round, st.Status)
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	m := engineCounter(t, e, "zgda_engine_device_rows_total", "event")
	if m["kept"] != rounds*rows || m["released"] != rounds*rows || m["not_kept"] != 0 {
		t.Fatalf("device rows kept %v, released %v, not kept %v; want %d, %d, 0", m["kept"], m["released"], m["not_kept"], rounds*rows, rounds*rows)
	}
}
