package cuda

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/kzg"
)

// commitResident commits blobs with CommitBlobsResident, checks the
// commitments against want (one list a blob) and returns the handles of
// all rows in order.
func commitResident(t *testing.T, com *Committer, blobs [][]byte, want [][]kzg.Commitment) []ResidentRow {
	t.Helper()
	got, rows, err := com.CommitBlobsResident(context.Background(), blobs, nil)
	if err != nil {
		t.Fatal(err)
	}
	var all []ResidentRow
	for i := range blobs {
		if len(got[i]) != len(want[i]) || len(rows[i]) != len(want[i]) {
			t.Fatalf("blob %d: %d commitments and %d rows for %d rows", i, len(got[i]), len(rows[i]), len(want[i]))
		}
		for k := range want[i] {
			if got[i][k] != want[i][k] {
				t.Fatalf("blob %d row %d: commitment %x, kzg %x", i, k, got[i][k], want[i][k])
			}
			if rows[i][k] == 0 {
				t.Fatalf("blob %d row %d: handle 0", i, k)
			}
		}
		all = append(all, rows[i]...)
	}
	return all
}

// TestEmulatedResidentRows: rows committed from bytes stay on the device
// (CommitBlobsResident) and ExtendBatchResident encodes them from there,
// with the bytes of ExtendColumns and kzg.ParityCommitments, for D = 1, 2,
// 3, 5, 8 on random, all-zero and one-repeated-byte rows, and for a batch
// of several blobs; released handles are refused.
func TestEmulatedResidentRows(t *testing.T) {
	com, be := emuCommitter(t), emuBackend(t)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(30, 31))
	for _, d := range []int{1, 2, 3, 5, 8} {
		for _, kind := range batchKinds {
			t.Run(fmt.Sprintf("D=%d/%s", d, kind), func(t *testing.T) {
				blob, rows, comms := batchData(t, r, d, kind)
				handles := commitResident(t, com, [][]byte{blob}, [][]kzg.Commitment{comms})
				defer com.ReleaseRows(handles)
				checkExtendBatchWith(t, rows, comms, func(parity [][]fr.Element, pc []kzg.Commitment) error {
					return be.ExtendBatchResident(ctx, handles, comms, parity, pc)
				})
			})
		}
	}
	t.Run("blobs", func(t *testing.T) { // 1 + 2 + 2 rows: D = 5, K = 8
		var blobs [][]byte
		var rows [][]fr.Element
		var comms []kzg.Commitment
		var want [][]kzg.Commitment
		for i, kind := range []string{"repeated", "random", "zero"} {
			blob, rr, cc := batchData(t, r, 1+min(i, 1), kind)
			blobs, rows, want = append(blobs, blob), append(rows, rr...), append(want, cc)
			comms = append(comms, cc...)
		}
		handles := commitResident(t, com, blobs, want)
		defer com.ReleaseRows(handles)
		checkExtendBatchWith(t, rows, comms, func(parity [][]fr.Element, pc []kzg.Commitment) error {
			return be.ExtendBatchResident(ctx, handles, comms, parity, pc)
		})
	})
	t.Run("released", func(t *testing.T) {
		blob, _, comms := batchData(t, r, 2, "random")
		handles := commitResident(t, com, [][]byte{blob}, [][]kzg.Commitment{comms})
		if err := com.ReleaseRows(handles); err != nil {
			t.Fatal(err)
		}
		parity, pc := garbageRows(6, encoder.ElementsPerRow), make([]kzg.Commitment, 6)
		if err := be.ExtendBatchResident(ctx, handles, comms, parity, pc); !errors.Is(err, ErrDevice) {
			t.Fatalf("released rows: %v, want ErrDevice (handle not held)", err)
		}
		if err := be.ExtendBatchResident(ctx, handles[:1], comms, parity[:3], pc[:3]); !errors.Is(err, encoder.ErrShape) {
			t.Fatalf("commitments for 2 rows, 1 handle: %v, want ErrShape", err)
		}
	})
}

// TestEmulatedResidentRowsFull: a call that would hold more rows than the
// store has (16 in the emulated build) fails with ErrOutOfMemory and holds
// none, also when earlier chunks of it were kept; the whole store is then
// still free.
func TestEmulatedResidentRowsFull(t *testing.T) {
	com := emuCommitter(t)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(32, 33))
	blob17, _, _ := batchData(t, r, 17, "random")
	if _, _, err := com.CommitBlobsResident(ctx, [][]byte{blob17}, nil); !errors.Is(err, ErrOutOfMemory) {
		t.Fatalf("17 rows: %v, want ErrOutOfMemory", err)
	}
	com.mu.Lock()
	chunk := com.chunk
	com.chunk = 4 // four chunks fit, the fifth does not
	com.mu.Unlock()
	defer func() {
		com.mu.Lock()
		com.chunk = chunk
		com.mu.Unlock()
	}()
	if _, _, err := com.CommitBlobsResident(ctx, [][]byte{blob17}, nil); !errors.Is(err, ErrOutOfMemory) {
		t.Fatalf("17 rows in chunks of 4: %v, want ErrOutOfMemory", err)
	}
	blob16, _, comms := batchData(t, r, 16, "repeated")
	handles := commitResident(t, com, [][]byte{blob16}, [][]kzg.Commitment{comms})
	if err := com.ReleaseRows(handles); err != nil {
		t.Fatal(err)
	}
}

// TestDeviceResidentRows is TestEmulatedResidentRows on a real device, up
// to D = 256 (the largest batch), the rows of two batches held at once.
func TestDeviceResidentRows(t *testing.T) {
	com, be := deviceCommitter(t), deviceBackend(t)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(34, 35))
	ds := []int{1, 2, 3, 5, 8, 129, 256}
	if testing.Short() {
		ds = ds[:5]
	}
	var held []ResidentRow
	defer func() { com.ReleaseRows(held) }()
	for _, d := range ds {
		for _, kind := range batchKinds {
			t.Run(fmt.Sprintf("D=%d/%s", d, kind), func(t *testing.T) {
				blob, rows, comms := batchData(t, r, d, kind)
				handles := commitResident(t, com, [][]byte{blob}, [][]kzg.Commitment{comms})
				checkExtendBatchWith(t, rows, comms, func(parity [][]fr.Element, pc []kzg.Commitment) error {
					return be.ExtendBatchResident(ctx, handles, comms, parity, pc)
				})
				com.ReleaseRows(held) // keep this batch's rows while the next is committed
				held = handles
			})
		}
	}
}
