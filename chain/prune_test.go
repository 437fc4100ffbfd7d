package chain

import (
	"testing"
)

// epochRecordKeys counts the committed records of epoch x: its epoch record
// and signer count, VRF outputs, stake snapshots, challenges and scores.
func epochRecordKeys(t *testing.T, h *harness, x uint64) int {
	t.Helper()
	n := 0
	for _, p := range [][]byte{prefixVRF(x), prefixSeedStake(x), prefixChallenges(x), prefixScores(x)} {
		if err := h.app.st.scanCommitted(p, func(_, _ []byte) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range [][]byte{keyEpoch(x), keySeedSigners(x)} {
		if v, err := h.app.st.getCommitted(k); err != nil {
			t.Fatal(err)
		} else if v != nil {
			n++
		}
	}
	return n
}

// The records of an epoch that has left the availability window leave the
// state, oldest epoch first and a bounded number of keys a block; younger
// epochs keep theirs, and the epoch query then answers not found.
func TestEpochRecordsPruned(t *testing.T) {
	const E = 10
	p := smallParams()
	p.EpochLength = E
	p.AvailabilityEpochs = 1
	p.CertEpochWindow = 1
	old := pruneKeysPerBlock
	pruneKeysPerBlock = 3
	defer func() { pruneKeysPerBlock = old }()
	h := newHarness(t, p, []uint64{256, 256, 256, 256}, false)
	all := []int{0, 1, 2, 3}
	h.block() // opens epoch 0, fixes epoch 1's seed
	seed1 := h.epoch(1).Seed
	for i := range h.keys {
		if err := h.both(NewVRFTx(testChainID, h.keys[i], 1, seed1)); err != nil {
			t.Fatal(err)
		}
	}
	c := certify(t, h.keys, testChainID, 0, 0, blobs("prune", 2, 1), all...)
	if err := h.both(certTx(t, c)); err != nil {
		t.Fatal(err)
	}
	h.advanceTo(E + 1) // epoch 1 draws its challenges from the epoch-0 batch
	seed2 := h.epoch(2).Seed
	for i := range h.keys {
		if err := h.both(NewVRFTx(testChainID, h.keys[i], 2, seed2)); err != nil {
			t.Fatal(err)
		}
	}
	h.advanceTo(2*E - 1)
	n0, n1 := epochRecordKeys(t, h, 0), epochRecordKeys(t, h, 1)
	// Epoch 1: its record, signer count, 4 VRF outputs, 2 challenges and a
	// score for each of the 4 signers; more than one block's budget.
	if n0 == 0 || n1 < 4+8+4 {
		t.Fatalf("before pruning: epoch 0 has %d records, epoch 1 %d", n0, n1)
	}

	h.advanceTo(2*E + 1) // epoch 2's first block: epoch 0 (0 + 1 < 2) goes
	if got := epochRecordKeys(t, h, 0); got != max(n0-3, 0) {
		t.Fatalf("after one block of epoch 2: epoch 0 keeps %d of %d records, want %d (3 a block)", got, n0, max(n0-3, 0))
	}
	seed3 := h.epoch(3).Seed
	for i := range h.keys {
		if err := h.both(NewVRFTx(testChainID, h.keys[i], 3, seed3)); err != nil {
			t.Fatal(err)
		}
	}
	h.advanceTo(3*E - 1)
	if got := epochRecordKeys(t, h, 0); got != 0 {
		t.Fatalf("late in epoch 2: epoch 0 keeps %d records", got)
	}
	if got := epochRecordKeys(t, h, 1); got != n1 {
		t.Fatalf("epoch 1 is still inside the window in epoch 2, yet has %d of %d records", got, n1)
	}
	if err := h.query(QueryEpoch, []byte{0, 0, 0, 0, 0, 0, 0, 0}, &EpochInfo{}); !IsNotFound(err) {
		t.Fatalf("the epoch query for a pruned epoch: %v, want not found", err)
	}
	h.epoch(1)

	h.advanceTo(3*E + 1)
	if got := epochRecordKeys(t, h, 1); got != n1-3 {
		t.Fatalf("after one block of epoch 3: epoch 1 keeps %d of %d records, want %d", got, n1, n1-3)
	}
	h.advanceTo(3*E + 1 + int64(n1/3) + 1)
	if got := epochRecordKeys(t, h, 1); got != 0 {
		t.Fatalf("epoch 1 keeps %d records after enough blocks of epoch 3", got)
	}
	if got := epochRecordKeys(t, h, 2); got == 0 {
		t.Fatal("epoch 2, inside the window, lost its records")
	}
	// The chain goes on: certificates of the current epoch are recorded.
	c3 := certify(t, h.keys, testChainID, 3, 0, blobs("after-prune", 1, 1), all...)
	if err := h.both(certTx(t, c3)); err != nil {
		t.Fatal(err)
	}
}
