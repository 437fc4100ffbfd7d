package chain

import (
	"slices"
	"testing"

	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/signer"
)

func TestEpochsVRFAndStaleCertificates(t *testing.T) {
	p := smallParams()
	const E = 30
	p.EpochLength = E
	p.CertEpochWindow = 1
	h := newHarness(t, p, []uint64{64, 64, 64, 64}, false)

	// Epoch 0 comes from genesis: its quorum is AssignQuorums over the
	// genesis VRF outputs, recomputed here from the keys.
	e0 := h.epoch(0)
	var ps []da.Participant
	for i, k := range h.keys {
		out, _ := k.VRF(testChainID, 0, GenesisSeed())
		ps = append(ps, da.Participant{Signer: uint32(i), VRF: out, Ballots: 64})
	}
	if want := da.AssignQuorums(ps, int(p.QuorumSize)); !e0.Started || !slices.Equal(e0.Quorums[0], want[0]) {
		t.Fatalf("epoch 0 quorum is not the genesis assignment")
	}

	// Block 1 opens epoch 0 and fixes epoch 1's seed from its hash.
	if errs := h.block(); len(errs) != 0 {
		t.Fatal(errs)
	}
	e1 := h.epoch(1)
	if e1.Started || e1.Seed != da.EpochSeed(da.Hash(blockHash(1)), 1) || e1.StartHeight != E+1 || e1.EndHeight != 2*E {
		t.Fatalf("epoch 1 before start: %+v", e1)
	}

	// VRF submissions for epoch 1.
	seed1 := e1.Seed
	wantErr(t, "VRF for epoch 0 (started)", h.both(NewVRFTx(testChainID, h.keys[0], 0, GenesisSeed())), ErrStaleEpoch)
	wantErr(t, "VRF for epoch 2 (seed unknown)", h.both(NewVRFTx(testChainID, h.keys[0], 2, seed1)), ErrFutureEpoch)
	wantErr(t, "VRF over the wrong seed", h.both(NewVRFTx(testChainID, h.keys[0], 1, da.Hash{1})), ErrBadSignature)
	wantErr(t, "VRF on another chain", h.both(NewVRFTx("zgda-other", h.keys[0], 1, seed1)), ErrBadSignature)
	stolen := NewVRFTx(testChainID, h.keys[1], 1, seed1)
	copy(stolen[2:50], func() []byte { b := h.keys[0].PublicKey().Bytes(); return b[:] }())
	wantErr(t, "signer 1's proof under signer 0's key", h.both(stolen), ErrBadSignature)
	wantErr(t, "VRF from an unregistered key", h.both(NewVRFTx(testChainID, testKey(t, 50), 1, seed1)), ErrUnknownSigner)
	garbage := NewVRFTx(testChainID, h.keys[0], 1, seed1)
	for i := 58; i < len(garbage); i++ {
		garbage[i] = 0xab
	}
	wantErr(t, "VRF proof that is no point", h.both(garbage), ErrBadSignature)

	// Signers 0..2 submit; 3 does not.
	for i := 0; i < 3; i++ {
		if err := h.both(NewVRFTx(testChainID, h.keys[i], 1, seed1)); err != nil {
			t.Fatalf("signer %d: %v", i, err)
		}
	}
	wantErr(t, "second VRF for epoch 1", h.both(NewVRFTx(testChainID, h.keys[0], 1, seed1)), ErrDuplicate)
	if got := h.epoch(1).VRFs; len(got) != 3 {
		t.Fatalf("%d VRFs recorded for epoch 1", len(got))
	}
	if h.height >= E {
		t.Fatalf("test takes too many blocks (height %d)", h.height)
	}
	// A certificate for epoch 0 in epoch 0.
	c0 := certify(t, h.keys, testChainID, 0, 0, blobs("e0a", 1, 1), 0, 1, 2, 3)
	if err := h.both(certTx(t, c0)); err != nil {
		t.Fatal(err)
	}

	// Block E+1 opens epoch 1: its quorum is built from the three outputs.
	h.advanceTo(E + 1)
	e1 = h.epoch(1)
	ps = ps[:0]
	for i := 0; i < 3; i++ {
		out, _ := h.keys[i].VRF(testChainID, 1, seed1)
		ps = append(ps, da.Participant{Signer: uint32(i), VRF: out, Ballots: 64})
	}
	want := da.AssignQuorums(ps, int(p.QuorumSize))
	if !e1.Started || len(e1.Quorums) != 1 || !slices.Equal(e1.Quorums[0], want[0]) {
		t.Fatalf("epoch 1 quorum is not the assignment of the three outputs")
	}
	if len(e1.Quorums[0].SlotsOf(3)) != 0 {
		t.Fatal("signer 3 submitted no VRF output but holds slots")
	}
	var st AppStatus
	if err := h.query(QueryStatus, nil, &st); err != nil || st.Epoch != 1 || st.NextEpochHeight != 2*E+1 {
		t.Fatalf("status %+v %v", st, err)
	}
	// Epoch 0 certificates are still accepted in epoch 1 (window 1) …
	if err := h.both(certTx(t, certify(t, h.keys, testChainID, 0, 0, blobs("e0b", 1, 1), 0, 1, 2, 3))); err != nil {
		t.Fatalf("epoch-0 certificate in epoch 1: %v", err)
	}
	// … and signer 3 is no member of epoch 1's quorum.
	wantErr(t, "signer 3 in epoch 1", h.both(certTx(t, certify(t, h.keys, testChainID, 1, 0, blobs("e1a", 1, 1), 0, 1, 2, 3))), ErrNotInQuorum)
	if err := h.both(certTx(t, certify(t, h.keys, testChainID, 1, 0, blobs("e1b", 1, 1), 0, 1, 2))); err != nil {
		t.Fatalf("epoch-1 certificate: %v", err)
	}

	// Nobody submits for epoch 2: it opens with no quorum, and epoch 0 is stale.
	h.advanceTo(2*E + 1)
	if e2 := h.epoch(2); !e2.Started || len(e2.Quorums) != 0 {
		t.Fatalf("epoch 2: %+v", e2)
	}
	wantErr(t, "epoch-0 certificate in epoch 2", h.both(certTx(t, certify(t, h.keys, testChainID, 0, 0, blobs("e0c", 1, 1), 0, 1, 2, 3))), ErrStaleEpoch)
	wantErr(t, "epoch-2 certificate without quorums", h.both(certTx(t, certify(t, h.keys, testChainID, 2, 0, blobs("e2", 1, 1), 0, 1, 2))), ErrUnknownQuorum)
	if err := h.both(certTx(t, certify(t, h.keys, testChainID, 1, 0, blobs("e1c", 1, 1), 0, 1, 2))); err != nil {
		t.Fatalf("epoch-1 certificate in epoch 2: %v", err)
	}
	wantErr(t, "VRF for the past epoch 1", h.both(NewVRFTx(testChainID, h.keys[3], 1, seed1)), ErrStaleEpoch)
}

func TestRegistration(t *testing.T) {
	p := smallParams()
	p.EpochLength = 3
	p.MaxSigners = 4
	h := newHarness(t, p, []uint64{64, 64}, true)
	newKey := testKey(t, 10)
	addrs := []string{"/ip4/127.0.0.1/tcp/7000"}
	reg := func(k *signer.Key, stake, nonce uint64, registrar *signer.Key) []byte {
		tx, err := NewRegisterTx(testChainID, k, stake, nonce, addrs, registrar)
		if err != nil {
			t.Fatal(err)
		}
		return tx
	}
	wantErr(t, "new signer without the registrar", h.both(reg(newKey, 100, 1, nil)), ErrUnauthorized)
	wantErr(t, "new signer, registrar signature by another key", h.both(reg(newKey, 100, 1, testKey(t, 11))), ErrBadSignature)
	wantErr(t, "new signer with nonce 2", h.both(reg(newKey, 100, 2, h.registrar)), ErrBadNonce)
	// A PoP that is not newKey's.
	tx, _ := DecodeTx(reg(newKey, 100, 1, h.registrar))
	rt := tx.(*RegisterTx)
	rt.PoP = testKey(t, 12).ProvePossession().Bytes()
	msg := rt.SignBytes(testChainID)
	rt.Sig = newKey.Sign(msg).Bytes()
	rs := h.registrar.Sign(msg).Bytes()
	rt.RegistrarSig = &rs
	wantErr(t, "bad proof of possession", h.both(EncodeTx(rt)), ErrBadSignature)
	// A signature by someone else over the registration.
	tx, _ = DecodeTx(reg(newKey, 100, 1, h.registrar))
	rt = tx.(*RegisterTx)
	rt.Sig = testKey(t, 13).Sign(rt.SignBytes(testChainID)).Bytes()
	wantErr(t, "registration not signed by its key", h.both(EncodeTx(rt)), ErrBadSignature)
	wantErr(t, "registration signed on another chain", h.both(func() []byte {
		tx, _ := NewRegisterTx("zgda-other", newKey, 100, 1, addrs, h.registrar)
		return tx
	}()), ErrBadSignature)

	good := reg(newKey, 100, 1, h.registrar)
	if err := h.both(good); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "replayed registration", h.both(good), ErrBadNonce)
	var si SignerInfo
	pk := newKey.PublicKey().Bytes()
	if err := h.query(QuerySigner, pk[:], &si); err != nil || si.Index != 2 || si.Stake != 100 || si.Nonce != 1 || !slices.Equal(si.Addrs, addrs) {
		t.Fatalf("signer %+v %v", si, err)
	}
	// Updates: addresses alone need no registrar; the stake does.
	addrs = []string{"/ip4/127.0.0.1/tcp/7001", "/dns4/node.example/tcp/7001"}
	if err := h.both(reg(newKey, 100, 2, nil)); err != nil {
		t.Fatalf("address update: %v", err)
	}
	wantErr(t, "stake raised without the registrar", h.both(reg(newKey, 5000, 3, nil)), ErrUnauthorized)
	if err := h.both(reg(newKey, 5000, 3, h.registrar)); err != nil {
		t.Fatalf("stake update: %v", err)
	}
	wantErr(t, "old nonce", h.both(reg(newKey, 5000, 3, nil)), ErrBadNonce)
	var all []SignerInfo
	if err := h.query(QuerySigners, nil, &all); err != nil || len(all) != 3 || all[2].Stake != 5000 || all[2].Nonce != 3 || len(all[2].Addrs) != 2 {
		t.Fatalf("signers %+v %v", all, err)
	}
	// A genesis signer updates with nonce 1.
	if err := h.both(reg(h.keys[0], 64, 1, nil)); err != nil {
		t.Fatalf("genesis signer update: %v", err)
	}
	// The registry holds at most max_signers = 4.
	if err := h.both(reg(testKey(t, 20), 10, 1, h.registrar)); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "fifth signer", h.both(reg(testKey(t, 21), 10, 1, h.registrar)), ErrRegistryFull)

	// The new signer joins the next epoch through its VRF output, submitted
	// in the first block of the current one.
	var st AppStatus
	if err := h.query(QueryStatus, nil, &st); err != nil {
		t.Fatal(err)
	}
	h.advanceTo(st.NextEpochHeight)
	if err := h.query(QueryStatus, nil, &st); err != nil {
		t.Fatal(err)
	}
	next := h.epoch(st.Epoch + 1)
	if err := h.both(NewVRFTx(testChainID, newKey, next.Epoch, next.Seed)); err != nil {
		t.Fatal(err)
	}
	h.advanceTo(next.StartHeight)
	e := h.epoch(next.Epoch)
	// The only output is signer 2's: 5000 stake, capped to 1024 ballots,
	// fills one quorum of 1024.
	if !e.Started || len(e.Quorums) != 1 || len(e.Quorums[0].SlotsOf(2)) != 1024 {
		t.Fatalf("epoch %d: %d quorums", next.Epoch, len(e.Quorums))
	}
}

func TestRegistrationWithoutRegistrar(t *testing.T) {
	h := newHarness(t, smallParams(), []uint64{64}, false)
	tx, err := NewRegisterTx(testChainID, testKey(t, 5), 1, 1, nil, testKey(t, 6))
	if err != nil {
		t.Fatal(err)
	}
	err = h.both(tx)
	wantErr(t, "no registrar in genesis", err, ErrUnauthorized)
	if !contains(err.Error(), "genesis names no registrar") {
		t.Fatalf("unclear error: %v", err)
	}
}

// A genesis with initial_height 5: the first block is 5, epochs count from
// it (docs/spec.md §4.1), and the app survives a restart before it.
func TestInitialHeightAboveOne(t *testing.T) {
	p := smallParams()
	const E = 3
	p.EpochLength = E
	h := newHarnessAt(t, p, []uint64{64, 64, 64, 64}, false, 5)
	// CometBFT calls InitChain again when it restarts before the first
	// block; the reopened app takes block 5.
	h.app.Close()
	h.open()
	var st AppStatus
	if err := h.query(QueryStatus, nil, &st); err != nil || st.Height != 0 || st.Epoch != 0 || st.NextEpochHeight != 5+E {
		t.Fatalf("status before the first block: %+v %v", st, err)
	}
	if errs := h.block(); h.height != 5 || len(errs) != 0 {
		t.Fatalf("block %d: %v", h.height, errs)
	}
	e1 := h.epoch(1)
	if e1.Seed != da.EpochSeed(da.Hash(blockHash(5)), 1) || e1.StartHeight != 5+E {
		t.Fatalf("epoch 1 after block 5: %+v", e1)
	}
	if err := h.both(NewVRFTx(testChainID, h.keys[0], 1, e1.Seed)); err != nil {
		t.Fatal(err)
	}
	if err := h.both(certTx(t, certify(t, h.keys, testChainID, 0, 0, blobs("ih", 1, 1), 0, 1, 2))); err != nil {
		t.Fatal(err)
	}
	h.advanceTo(5 + E)
	if e := h.epoch(1); !e.Started || len(e.Quorums) != 1 || len(e.Quorums[0].SlotsOf(0)) != int(p.QuorumSize) {
		t.Fatalf("epoch 1 at block %d: %+v", h.height, e)
	}
	if err := h.query(QueryStatus, nil, &st); err != nil || st.Height != 5+E || st.Epoch != 1 {
		t.Fatalf("status at block %d: %+v %v", h.height, st, err)
	}
}

// vrfQuorums is AssignQuorums over the given signers' outputs for epoch e,
// each with the ballots of stakes[i].
func vrfQuorums(p Params, keys []*signer.Key, e uint64, seed da.Hash, stakes map[uint32]uint64) []da.Quorum {
	var ps []da.Participant
	for i, k := range keys {
		s, ok := stakes[uint32(i)]
		if !ok {
			continue
		}
		out, _ := k.VRF(testChainID, e, seed)
		ps = append(ps, da.Participant{Signer: uint32(i), VRF: out, Ballots: da.Ballots(s, p.TokensPerBallot, p.BallotCap)})
	}
	return da.AssignQuorums(ps, int(p.QuorumSize))
}

// A VRF output for epoch e+1 counts only from a signer registered before
// seed_{e+1} was fixed (docs/spec.md §4.1): one registered later, after the
// seed and the others' outputs are public, could grind its key for slots.
func TestVRFFromSignerRegisteredAfterSeed(t *testing.T) {
	p := smallParams()
	const E = 10
	p.EpochLength = E
	h := newHarness(t, p, []uint64{64, 64}, true)
	reg := func(k *signer.Key) []byte {
		tx, err := NewRegisterTx(testChainID, k, 64, 1, nil, h.registrar)
		if err != nil {
			t.Fatal(err)
		}
		return tx
	}
	h.block() // block 1 fixes seed_1
	seed1 := h.epoch(1).Seed
	if err := h.both(NewVRFTx(testChainID, h.keys[0], 1, seed1)); err != nil {
		t.Fatal(err)
	}
	late := testKey(t, 30)
	if err := h.both(reg(late)); err != nil { // block 3, after seed_1
		t.Fatal(err)
	}
	err := h.both(NewVRFTx(testChainID, late, 1, seed1))
	wantErr(t, "VRF for epoch 1 from a signer registered after seed_1", err, ErrRegisteredAfterSeed)
	if te := err.(*TxError); te.Code != CodeRegisteredAfterSeed || !contains(te.Log, "registered after the seed of epoch 1 was fixed") {
		t.Fatalf("unclear refusal: code %d, %q", te.Code, te.Log)
	}

	// The boundary: seed_2 is fixed at block E+1 before its transactions,
	// so a signer registered in block E counts for epoch 2 and one
	// registered in block E+1 does not.
	before, after := testKey(t, 31), testKey(t, 32)
	h.advanceTo(E - 1)
	if err := h.deliver(reg(before)); err != nil { // block E
		t.Fatal(err)
	}
	if err := h.deliver(reg(after)); err != nil { // block E+1
		t.Fatal(err)
	}
	seed2 := h.epoch(2).Seed
	for _, k := range []*signer.Key{late, before} {
		if err := h.both(NewVRFTx(testChainID, k, 2, seed2)); err != nil {
			t.Fatalf("VRF for epoch 2 from a signer registered before seed_2: %v", err)
		}
	}
	wantErr(t, "VRF for epoch 2 from a signer registered in the block that fixed seed_2",
		h.both(NewVRFTx(testChainID, after, 2, seed2)), ErrRegisteredAfterSeed)

	// Epoch 1's quorum is signer 0's alone; epoch 2's holds signers 2 and 3.
	h.advanceTo(E + 1)
	if e1 := h.epoch(1); len(e1.VRFs) != 1 || !slices.Equal(e1.Quorums[0], vrfQuorums(p, []*signer.Key{h.keys[0]}, 1, seed1, map[uint32]uint64{0: 64})[0]) {
		t.Fatalf("epoch 1: %+v", e1)
	}
	h.advanceTo(2*E + 1)
	if e2 := h.epoch(2); len(e2.VRFs) != 2 || e2.VRFs[0].Signer != 2 || e2.VRFs[1].Signer != 3 {
		t.Fatalf("epoch 2 VRFs: %+v", e2.VRFs)
	}
}

// Epoch e+1's quorums use each signer's stake as of the block that fixed
// seed_{e+1} (docs/spec.md §4.1): a stake change after it moves only later
// epochs.
func TestQuorumsUseStakeAtSeed(t *testing.T) {
	p := smallParams()
	const E = 10
	p.EpochLength = E
	h := newHarness(t, p, []uint64{64, 64, 64, 64}, true)
	nonce := map[int]uint64{}
	setStake := func(i int, stake uint64) {
		t.Helper()
		nonce[i]++
		tx, err := NewRegisterTx(testChainID, h.keys[i], stake, nonce[i], nil, h.registrar)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.both(tx); err != nil {
			t.Fatalf("signer %d's stake to %d: %v", i, stake, err)
		}
	}
	all := func(e uint64, seed da.Hash) {
		t.Helper()
		for i, k := range h.keys {
			if err := h.both(NewVRFTx(testChainID, k, e, seed)); err != nil {
				t.Fatalf("signer %d's VRF for epoch %d: %v", i, e, err)
			}
		}
	}

	h.block() // block 1 fixes seed_1 with every stake at 64
	seed1 := h.epoch(1).Seed
	all(1, seed1)
	setStake(0, 5000) // after seed_1, once the outputs are public
	setStake(0, 600)  // twice: the stake at the seed is what counts
	setStake(1, 0)
	h.advanceTo(E) // block E+1, in which signer 2's stake changes, fixes seed_2 first
	setStake(2, 300)
	e1 := h.epoch(1)
	if want := vrfQuorums(p, h.keys, 1, seed1, map[uint32]uint64{0: 64, 1: 64, 2: 64, 3: 64}); !e1.Started || !slices.Equal(e1.Quorums[0], want[0]) {
		t.Fatalf("epoch 1's quorum moved with stake changes after seed_1")
	}

	seed2 := h.epoch(2).Seed
	all(2, seed2)
	h.advanceTo(2*E + 1)
	e2 := h.epoch(2)
	if want := vrfQuorums(p, h.keys, 2, seed2, map[uint32]uint64{0: 600, 1: 0, 2: 64, 3: 64}); !e2.Started || !slices.Equal(e2.Quorums[0], want[0]) {
		t.Fatalf("epoch 2's quorum does not use the stakes at seed_2")
	}
	seed3 := h.epoch(3).Seed
	all(3, seed3)
	h.advanceTo(3*E + 1)
	if want := vrfQuorums(p, h.keys, 3, seed3, map[uint32]uint64{0: 600, 1: 0, 2: 300, 3: 64}); !slices.Equal(h.epoch(3).Quorums[0], want[0]) {
		t.Fatalf("epoch 3's quorum does not use the stakes at seed_3")
	}
}
