package engine

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/kzg"
)

// bytesCommitter is a BlobCommitter on the CPU (encoder.Pack, then kzg), as
// cuda.Committer is one on the device; its first CommitBlobs call waits for
// open. It counts the calls of either kind.
type bytesCommitter struct {
	Committer
	open      chan struct{}
	once      sync.Once
	blobCalls atomic.Int32
	rowCalls  atomic.Int32
}

func (b *bytesCommitter) CommitBlobs(ctx context.Context, blobs [][]byte, progress func(int)) ([][]kzg.Commitment, error) {
	b.once.Do(func() {
		select {
		case <-b.open:
		case <-ctx.Done():
		}
	})
	b.blobCalls.Add(1)
	out := make([][]kzg.Commitment, len(blobs))
	for i, blob := range blobs {
		rows, err := encoder.Pack(blob)
		if err != nil {
			return nil, err
		}
		if out[i], err = b.Committer.CommitRows(ctx, rows, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (b *bytesCommitter) CommitRows(ctx context.Context, rows [][]fr.Element, progress func(int)) ([]kzg.Commitment, error) {
	b.rowCalls.Add(1)
	return b.Committer.CommitRows(ctx, rows, progress)
}

// TestIntakeCommitsBytes: with a BlobCommitter, intake commits the posts'
// bytes (posts arriving together in one call), never their rows, and the
// keys are those of the packed rows' commitments.
func TestIntakeCommitsBytes(t *testing.T) {
	d, c := newFakeDisperser(), newFakeChain()
	bc := &bytesCommitter{Committer: kzg.Default(), open: make(chan struct{})}
	e := startEngine(t, testConfig(t, tempDir(t)), d, c, WithCommitter(bc))
	blobs := [][]byte{randBlob(t, 50_000), randBlob(t, 2*encoder.BytesPerRow+5), randBlob(t, 1), randBlob(t, encoder.BytesPerRow)}
	keys := burst(t, e, &gatedCommitter{open: bc.open}, blobs)
	for i, b := range blobs {
		rows, err := encoder.Pack(b)
		if err != nil {
			t.Fatal(err)
		}
		comms, err := kzg.Default().CommitRows(context.Background(), rows, nil)
		if err != nil {
			t.Fatal(err)
		}
		if want := encoder.BlobKey(len(b), comms); keys[i] != want {
			t.Fatalf("blob %d: key %s, want %s", i, keys[i], want)
		}
	}
	waitAll(t, e, keys)
	if n := bc.rowCalls.Load(); n != 0 {
		t.Fatalf("%d CommitRows calls, want none", n)
	}
	if n := bc.blobCalls.Load(); n < 1 || n > 2 {
		t.Fatalf("%d CommitBlobs calls for %d posts arriving together, want 1 or 2", n, len(blobs))
	}
}
