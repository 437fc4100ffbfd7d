package chain

import (
	"bytes"
	"context"
	"encoding/binary"
	"strconv"
	"testing"
	"time"

	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/kzg"
)

// realBatch encodes one batch of blobs of the given sizes (real rows and
// commitments, so that answers can be proven).
func realBatch(t testing.TB, sizes ...int) *encoder.Batch {
	t.Helper()
	enc, err := encoder.New()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var blobs []*encoder.Blob
	for i, n := range sizes {
		data := make([]byte, n)
		for j := range data {
			data[j] = byte(i*31 + j*7)
		}
		b, err := enc.CommitBlob(ctx, kzg.Default(), data, nil)
		if err != nil {
			t.Fatal(err)
		}
		blobs = append(blobs, b)
	}
	bt, err := enc.EncodeBatch(ctx, kzg.Default(), blobs, nil)
	if err != nil {
		t.Fatal(err)
	}
	return bt
}

// answer is signer s's answer to challenge c of batch bt: the challenged
// cell proved from the row.
func answer(t testing.TB, h *harness, c *Challenge, bt *encoder.Batch) []byte {
	t.Helper()
	cell, proof, err := kzg.Default().ComputeCellAndProof(bt.Rows[c.Row], uint64(c.Cell))
	if err != nil {
		t.Fatal(err)
	}
	tx, err := NewPoRATx(testChainID, h.keys[c.Signer], c, &bt.Header, kzg.CellBytes(cell), proof)
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

func (h *harness) challenges(e uint64, s uint32) []Challenge {
	h.t.Helper()
	var out []Challenge
	data := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint64(nil, e), s)
	if err := h.query(QueryChallenges, data, &out); err != nil {
		h.t.Fatal(err)
	}
	return out
}

func (h *harness) score(e uint64, s uint32) Score {
	h.t.Helper()
	var all []Score
	if err := h.query(QueryScores, binary.BigEndian.AppendUint64(nil, e), &all); err != nil {
		h.t.Fatal(err)
	}
	for _, sc := range all {
		if sc.Signer == s {
			return sc
		}
	}
	return Score{Epoch: e, Signer: s}
}

// Proofs of random access on the app: each signer is challenged
// pora_challenges times at the epoch's first block, on a certified batch it
// holds slots of; a right answer within the deadline scores in time and a
// point, a later one late, none missing at the next epoch; a forged cell or
// proof, another signer's signature and a second answer are refused.
func TestPoRAChallengesAndScores(t *testing.T) {
	const E = 20
	p := smallParams()
	p.EpochLength, p.PoRAChallenges, p.PoRADeadline = E, 2, 8
	h := newHarness(t, p, []uint64{256, 256, 256, 256}, false)
	all := []int{0, 1, 2, 3}
	h.block()
	bt := realBatch(t, 100_000, 200_000) // R = 1 + 2: D = 3, N = 12
	c := certify(t, h.keys, testChainID, 0, 0, bt.Header.Entries(), all...)
	if err := h.deliver(certTx(t, c)); err != nil {
		t.Fatal(err)
	}
	h.advanceTo(E + 1) // epoch 1 opens: challenges drawn
	// Challenges are per signer, on the certified batch, within its rows.
	for s := range uint32(4) {
		cs := h.challenges(1, s)
		if len(cs) != 2 {
			t.Fatalf("signer %d has %d challenges, want 2", s, len(cs))
		}
		for _, ch := range cs {
			if ch.BatchRoot != bt.Root || ch.Row >= uint32(bt.N) || ch.Cell >= 128 || ch.Status != PoRAPending {
				t.Fatalf("challenge %+v", ch)
			}
		}
		if sc := h.score(1, s); sc.Challenged != 2 {
			t.Fatalf("score %+v", sc)
		}
	}
	// Signer 0 answers both in time.
	for _, ch := range h.challenges(1, 0) {
		if err := h.both(answer(t, h, &ch, bt)); err != nil {
			t.Fatal(err)
		}
	}
	if sc := h.score(1, 0); sc.InTime != 2 || sc.Points != 2 {
		t.Fatalf("signer 0: %+v", sc)
	}
	// A second answer to an answered challenge is refused.
	ch0 := h.challenges(1, 0)[0]
	wantErr(t, "a second answer", h.deliver(answer(t, h, &ch0, bt)), ErrDuplicate)

	// Signer 1: a forged proof, a forged cell, and signer 2's signature.
	ch := h.challenges(1, 1)[0]
	cell, proof, err := kzg.Default().ComputeCellAndProof(bt.Rows[ch.Row], uint64(ch.Cell))
	if err != nil {
		t.Fatal(err)
	}
	otherCell, otherProof, err := kzg.Default().ComputeCellAndProof(bt.Rows[ch.Row], uint64((ch.Cell+1)%128))
	if err != nil {
		t.Fatal(err)
	}
	forgedProof, _ := NewPoRATx(testChainID, h.keys[1], &ch, &bt.Header, kzg.CellBytes(cell), otherProof)
	wantErr(t, "a forged proof", h.check(forgedProof), ErrInvalidAnswer)
	wantErr(t, "a forged proof in a block", h.deliver(forgedProof), ErrInvalidAnswer)
	forgedCell, _ := NewPoRATx(testChainID, h.keys[1], &ch, &bt.Header, kzg.CellBytes(otherCell), proof)
	wantErr(t, "a forged cell", h.deliver(forgedCell), ErrInvalidAnswer)
	wrongKey, _ := NewPoRATx(testChainID, h.keys[2], &ch, &bt.Header, kzg.CellBytes(cell), proof)
	wantErr(t, "another signer's signature", h.both(wrongKey), ErrBadSignature)
	if sc := h.score(1, 1); sc.Invalid != 2 || sc.InTime != 0 {
		t.Fatalf("signer 1 after forgeries: %+v", sc)
	}
	// Past the deadline: signer 1's answers count late, no points.
	h.advanceTo(E + int64(p.PoRADeadline) + 2)
	for _, ch := range h.challenges(1, 1) {
		if err := h.both(answer(t, h, &ch, bt)); err != nil {
			t.Fatal(err)
		}
	}
	if sc := h.score(1, 1); sc.Late != 2 || sc.Points != 0 {
		t.Fatalf("signer 1 late: %+v", sc)
	}
	// Signers 2 and 3 never answer: missing once epoch 2 opens; answers
	// then are refused (the epoch is over).
	h.advanceTo(2*E + 1)
	for _, s := range []uint32{2, 3} {
		if sc := h.score(1, s); sc.Missing != 2 {
			t.Fatalf("signer %d: %+v", s, sc)
		}
		for _, ch := range h.challenges(1, s) {
			if ch.Status != PoRAMissing {
				t.Fatalf("challenge %+v", ch)
			}
		}
	}
	late := h.challenges(1, 2)[0]
	if err := h.deliver(answer(t, h, &late, bt)); err == nil {
		t.Fatal("an answer after the epoch ended was taken")
	}
	// Epoch 2 challenges again from its first block.
	if len(h.challenges(2, 3)) != 2 {
		t.Fatal("no challenges in epoch 2")
	}
}

// Four validators draw the same challenges and agree on the app hash at
// every height while answers (right and forged) go through different
// validators and epochs turn.
func TestNetworkFourValidatorsPoRA(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four validators")
	}
	const E = 30
	g, keys, _ := testGenesis(t, 4, E)
	g.Params.PoRAChallenges, g.Params.PoRADeadline = 2, E-2
	for i := range g.Signers {
		g.Signers[i].Stake = 256
	}
	dir := t.TempDir()
	homes, err := InitNetwork(dir, 4, 0, InitOptions{ChainID: testChainID, Genesis: g, Config: TestConfig()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t, 2*time.Minute)
	nodes := make([]*Node, 4)
	for i, home := range homes {
		if nodes[i], err = StartNode(ctx, home, nodeOpts(strconv.Itoa(i))...); err != nil {
			t.Fatal(err)
		}
		defer func(n *Node) { n.Stop() }(nodes[i])
	}
	bt := realBatch(t, 30_000)
	c := certify(t, keys, testChainID, 0, 0, bt.Header.Entries(), 0, 1, 2, 3)
	if _, err := nodes[0].Client().Submit(ctx, certTx(t, c)); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if err := n.Client().WaitForHeight(ctx, 1+E+1); err != nil { // epoch 1 has opened
			t.Fatal(err)
		}
	}
	h := &harness{t: t, keys: keys}
	for s := range uint32(4) {
		var first []Challenge
		for i, n := range nodes {
			cs, err := n.Client().Challenges(ctx, 1, s)
			if err != nil || len(cs) != 2 {
				t.Fatalf("validator %d, signer %d: %d challenges, %v", i, s, len(cs), err)
			}
			if i == 0 {
				first = cs
			} else if cs[0] != first[0] || cs[1] != first[1] {
				t.Fatalf("validator %d draws other challenges for signer %d", i, s)
			}
		}
		if s == 3 {
			continue // signer 3 stays silent: missing
		}
		ans := answer(t, h, &first[0], bt)
		if _, err := nodes[s].Client().Submit(ctx, ans); err != nil {
			t.Fatalf("signer %d's answer through validator %d: %v", s, s, err)
		}
	}
	var last int64
	for _, n := range nodes {
		if err := n.Client().WaitForHeight(ctx, 1+2*E+2); err != nil { // epoch 2 has opened
			t.Fatal(err)
		}
		last = max(last, n.Height())
	}
	var sc []Score
	if sc, err = nodes[2].Client().Scores(ctx, 1); err != nil || len(sc) != 4 {
		t.Fatalf("scores %+v %v", sc, err)
	}
	for _, s := range sc {
		want := Score{Epoch: 1, Signer: s.Signer, Challenged: 2, InTime: 1, Missing: 1, Points: 1}
		if s.Signer == 3 {
			want.InTime, want.Missing, want.Points = 0, 2, 0
		}
		if s != want {
			t.Fatalf("score %+v, want %+v", s, want)
		}
	}
	for height := int64(1); height <= 1+2*E+2; height++ {
		var ref []byte
		for i, n := range nodes {
			got, ok := n.App().AppHashAt(height)
			if !ok {
				t.Fatalf("validator %d has no app hash for height %d", i, height)
			}
			if i == 0 {
				ref = got
			} else if !bytes.Equal(got, ref) {
				t.Fatalf("height %d: validator %d's app hash differs", height, i)
			}
		}
	}
}
