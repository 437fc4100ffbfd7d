package chain

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/signer"
)

func smallParams() Params {
	p := DefaultParams()
	p.EpochLength = 1000
	return p
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// With 1024 ballots in all and M = W = 1024 there is one quorum, and every
// batch's window is the whole quorum, in which each signer holds exactly as
// many slots as it has ballots. N = 4 and N = 256 divide 1024, so every slot
// weighs the same and 2/3 means 683 slots: {512, 171} passes, {512, 170}
// does not.
func TestCertificateThresholdBoundary(t *testing.T) {
	p := smallParams()
	p.MinBatchSlots = p.QuorumSize
	stakes := []uint64{512, 171, 170, 1, 170}
	h := newHarness(t, p, stakes, false)
	q := h.epoch(0).Quorums
	if len(q) != 1 {
		t.Fatalf("%d quorums, want 1", len(q))
	}
	for i, want := range stakes {
		if got := len(q[0].SlotsOf(uint32(i))); got != int(want) {
			t.Fatalf("signer %d holds %d slots, want %d", i, got, want)
		}
	}
	for _, tc := range []struct {
		name    string
		signers []int
		n       int // blobs of one row: D = n, N = 4n
		ok      bool
	}{
		{"683 of 1024", []int{0, 1}, 1, true},
		{"682 of 1024", []int{0, 2}, 1, false},
		{"683 again, three signers", []int{0, 2, 3}, 1, true},
		{"682, D = 64 (N = 256)", []int{0, 4}, 64, false},
		{"683, D = 64", []int{0, 4, 3}, 64, true},
		{"all", []int{0, 1, 2, 3, 4}, 64, true},
		{"one big signer", []int{0}, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := certify(t, h.keys, testChainID, 0, 0, blobs(tc.name, tc.n, 1), tc.signers...)
			err := h.both(certTx(t, c))
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				var rec CertificateRecord
				if err := h.query(QueryCertificate, c.BatchRoot[:], &rec); err != nil || rec.Height != h.height {
					t.Fatalf("recorded certificate: %v %+v", err, rec)
				}
				for i, b := range c.Blobs {
					var r2 CertificateRecord
					if err := h.query(QueryBlob, b.Key[:], &r2); err != nil || r2.Certificate.BatchRoot != c.BatchRoot {
						t.Fatalf("blob %s → %v %v", b.Key, err, r2.Certificate.BatchRoot)
					}
					if idx, off, ok := r2.Certificate.Locate(b.Key); !ok || idx != i || off != i {
						t.Fatalf("blob %d located at index %d offset %d", i, idx, off)
					}
				}
				return
			}
			wantErr(t, tc.name, err, ErrInsufficientSlots)
			if te := err.(*TxError); te.Code != CodeInsufficientSlots {
				t.Fatalf("code %d", te.Code)
			}
			if err := h.query(QueryCertificate, c.BatchRoot[:], &CertificateRecord{}); !errors.Is(err, ErrNotFound) {
				t.Fatalf("rejected certificate recorded: %v", err)
			}
		})
	}
}

// windowWeight computes the signed weight of a batch's window from first
// principles (docs/spec.md §4.2, §4.4), independently of da.Window: slot i of
// the window is quorum slot (start + i) mod M and holds row i mod N; a row
// held m times weighs Q/m per signed slot, Q = q·(q+1).
func windowWeight(q da.Quorum, root da.Hash, n, w int, signed func(uint32) bool) (slots, got, total int) {
	m := len(q)
	start := int(binary.BigEndian.Uint64(root[:8]) % uint64(m))
	s := max(n, w)
	copies := make([]int, n)
	for i := 0; i < s; i++ {
		copies[i%n]++
	}
	qq := s / n
	big := qq * (qq + 1)
	for i := 0; i < s; i++ {
		if signed(q[(start+i)%m]) {
			slots++
			got += big / copies[i%n]
		}
	}
	return slots, got, n * big
}

// With N = 100 and W = 256 (q = 2), rows 0…55 have three window slots and
// rows 56…99 two. Signers of the rows held three times can hold more than
// 2/3 of the window's slots and still not 2/3 of its weight: every row
// counts once, so such a certificate proves less than 2/3 of the rows are
// held. The chain must refuse it and accept the honest one.
func TestCertificateWeightedWindow(t *testing.T) {
	p := smallParams()
	const signers = 128 // one ballot each: T < M, so the quorum takes the tickets cyclically
	stakes := make([]uint64, signers)
	for i := range stakes {
		stakes[i] = 1
	}
	h := newHarness(t, p, stakes, false)
	q := h.epoch(0).Quorums[0]
	bs := blobs("weighted", 25, 1) // D = 25, N = 100
	root, err := da.BatchRoot(bs)
	if err != nil {
		t.Fatal(err)
	}
	// Each signer's share of the weight, lightest first.
	type share struct {
		signer, weight int
	}
	var shares []share
	for s := 0; s < signers; s++ {
		_, got, _ := windowWeight(q, root, 100, 256, func(x uint32) bool { return x == uint32(s) })
		shares = append(shares, share{s, got})
	}
	slices.SortStableFunc(shares, func(a, b share) int { return cmp.Compare(a.weight, b.weight) })
	var pick []int
	set := map[uint32]bool{}
	for _, sh := range shares {
		set[uint32(sh.signer)] = true
		pick = append(pick, sh.signer)
		if slots, _, _ := windowWeight(q, root, 100, 256, func(x uint32) bool { return set[x] }); 3*slots >= 2*256 {
			break
		}
	}
	slots, got, total := windowWeight(q, root, 100, 256, func(x uint32) bool { return set[x] })
	if 3*slots < 2*256 || 3*got >= 2*total {
		t.Fatalf("test setup: %d of 256 slots, weight %d of %d: not the case this test needs", slots, got, total)
	}
	short := certify(t, h.keys, testChainID, 0, 0, bs, pick...)
	err = h.both(certTx(t, short))
	wantErr(t, fmt.Sprintf("%d of 256 slots but weight %d of %d", slots, got, total), err, ErrInsufficientSlots)
	if !contains(err.Error(), fmt.Sprintf("weight %d of %d", got, total)) {
		t.Fatalf("error does not give the weight: %v", err)
	}
	// The heaviest signers added one by one: accepted exactly when the
	// independent weight reaches 2/3.
	for i := len(shares) - 1; i >= 0; i-- {
		s := uint32(shares[i].signer)
		if set[s] {
			continue
		}
		set[s] = true
		pick = append(pick, int(s))
		if _, got, total := windowWeight(q, root, 100, 256, func(x uint32) bool { return set[x] }); 3*got >= 2*total {
			break
		}
	}
	if err := h.both(certTx(t, certify(t, h.keys, testChainID, 0, 0, bs, pick...))); err != nil {
		t.Fatalf("weight at 2/3: %v", err)
	}
}

// A certificate whose (key, R) list is not what the signers signed, or that
// breaks the batch rules, is refused: one R changed with the root kept (the
// list no longer hashes to it), one R changed with the root recomputed (a
// K-rewriting front-runner: the signers did not sign that root), a zero key,
// a repeated key, R or D out of range. D = 256 exactly is accepted.
func TestCertificateBatchRules(t *testing.T) {
	h := newHarness(t, smallParams(), []uint64{256, 256, 256, 256}, false)
	all := []int{0, 1, 2, 3}
	honest := certify(t, h.keys, testChainID, 0, 0, []da.CertifiedBlob{
		{Key: da.BlobKey(sha256.Sum256([]byte("a"))), Rows: 3},
		{Key: da.BlobKey(sha256.Sum256([]byte("b"))), Rows: 1},
	}, all...)
	rehash := func(c *da.Certificate) { c.BatchRoot, _ = da.BatchRoot(c.Blobs) }
	for _, tc := range []struct {
		name   string
		mutate func(c *da.Certificate)
		want   error
		says   string
	}{
		{"one R changed, root kept", func(c *da.Certificate) { c.Blobs[0].Rows = 1 }, ErrMalformedTx, "is not the root"},
		{"one R raised, root kept", func(c *da.Certificate) { c.Blobs[1].Rows = 2 }, ErrMalformedTx, "is not the root"},
		{"one R changed, root recomputed", func(c *da.Certificate) { c.Blobs[0].Rows = 2; rehash(c) }, ErrBadSignature, "does not verify"},
		{"blobs swapped, root recomputed", func(c *da.Certificate) { c.Blobs[0], c.Blobs[1] = c.Blobs[1], c.Blobs[0]; rehash(c) }, ErrBadSignature, "does not verify"},
		{"zero key", func(c *da.Certificate) { c.Blobs[1].Key = da.BlobKey{}; rehash(c) }, ErrMalformedTx, "zero key"},
		{"repeated key", func(c *da.Certificate) { c.Blobs[1] = c.Blobs[0]; rehash(c) }, ErrMalformedTx, "appears twice"},
		{"R = 0", func(c *da.Certificate) { c.Blobs[1].Rows = 0; rehash(c) }, ErrMalformedTx, "0 rows"},
		{"R = 257", func(c *da.Certificate) { c.Blobs[1].Rows = 257; rehash(c) }, ErrMalformedTx, "257 rows"},
		{"D = 257", func(c *da.Certificate) { c.Blobs[0].Rows, c.Blobs[1].Rows = 200, 57; rehash(c) }, ErrMalformedTx, "257 data rows"},
		{"D = 512", func(c *da.Certificate) { c.Blobs[0].Rows, c.Blobs[1].Rows = 256, 256; rehash(c) }, ErrMalformedTx, "512 data rows"},
		{"extra zero-key blob", func(c *da.Certificate) { c.Blobs = append(c.Blobs, da.CertifiedBlob{Rows: 1}) }, ErrMalformedTx, "zero key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := *honest
			c.Blobs = slices.Clone(honest.Blobs)
			tc.mutate(&c)
			err := h.both(rawCertTx(&c))
			wantErr(t, tc.name, err, tc.want)
			if !contains(err.Error(), tc.says) {
				t.Fatalf("error does not say %q: %v", tc.says, err)
			}
			if err := h.query(QueryCertificate, c.BatchRoot[:], &CertificateRecord{}); !errors.Is(err, ErrNotFound) {
				t.Fatalf("refused certificate recorded: %v", err)
			}
			for _, b := range c.Blobs {
				if err := h.query(QueryBlobBatch, b.Key[:], &BlobLocation{}); !errors.Is(err, ErrNotFound) {
					t.Fatalf("a key of a refused certificate has a batch: %v", err)
				}
			}
		})
	}
	if err := h.both(certTx(t, honest)); err != nil {
		t.Fatalf("the honest certificate: %v", err)
	}
	// D = 256 (N = 1024, the whole quorum): the largest batch.
	full := certify(t, h.keys, testChainID, 0, 0, []da.CertifiedBlob{
		{Key: da.BlobKey(sha256.Sum256([]byte("c"))), Rows: 200},
		{Key: da.BlobKey(sha256.Sum256([]byte("d"))), Rows: 56},
	}, all...)
	if err := h.both(certTx(t, full)); err != nil {
		t.Fatalf("D = 256: %v", err)
	}
}

func TestCertificateRejections(t *testing.T) {
	h := newHarness(t, smallParams(), []uint64{64, 64, 64, 64}, false)
	signers := []int{0, 1, 2}
	ok := func(tag string) *da.Certificate {
		return certify(t, h.keys, testChainID, 0, 0, blobs(tag, 2, 1), signers...)
	}
	resign := func(c *da.Certificate, chainID string, epoch uint64, quorum uint32, root da.Hash) {
		msg := da.AttestationMessage(chainID, epoch, quorum, root)
		var sigs []*signer.Signature
		for _, i := range c.Signers.Indices() {
			sigs = append(sigs, h.keys[i].Sign(msg))
		}
		agg, _ := signer.AggregateSignatures(sigs)
		c.Signature = agg.Bytes()
	}
	otherRoot := da.Hash{1}
	for _, tc := range []struct {
		name   string
		mutate func(c *da.Certificate)
		want   error
	}{
		{"forged aggregate: another key's signature", func(c *da.Certificate) {
			c.Signature = testKey(t, 77).Sign(c.Message(testChainID)).Bytes()
		}, ErrBadSignature},
		{"forged aggregate: one signer missing from the sum", func(c *da.Certificate) {
			msg := c.Message(testChainID)
			agg, _ := signer.AggregateSignatures([]*signer.Signature{h.keys[0].Sign(msg), h.keys[1].Sign(msg)})
			c.Signature = agg.Bytes()
		}, ErrBadSignature},
		{"forged aggregate: garbage bytes", func(c *da.Certificate) {
			for i := range c.Signature {
				c.Signature[i] = 0xab
			}
		}, ErrBadSignature},
		{"forged aggregate: bit flipped", func(c *da.Certificate) { c.Signature[50] ^= 1 }, ErrBadSignature},
		{"wrong message: chain id", func(c *da.Certificate) { resign(c, "zgda-other", 0, 0, c.BatchRoot) }, ErrBadSignature},
		{"wrong message: epoch", func(c *da.Certificate) { resign(c, testChainID, 1, 0, c.BatchRoot) }, ErrBadSignature},
		{"wrong message: quorum", func(c *da.Certificate) { resign(c, testChainID, 0, 1, c.BatchRoot) }, ErrBadSignature},
		{"wrong message: batch root", func(c *da.Certificate) { resign(c, testChainID, 0, 0, otherRoot) }, ErrBadSignature},
		{"bitmap names an unregistered signer", func(c *da.Certificate) { c.Signers = c.Signers.Set(4) }, ErrUnknownSigner},
		{"bitmap names signer 1000", func(c *da.Certificate) { c.Signers = c.Signers.Set(1000) }, ErrUnknownSigner},
		{"future epoch", func(c *da.Certificate) { c.Epoch = 1; resign(c, testChainID, 1, 0, c.BatchRoot) }, ErrFutureEpoch},
		{"unknown quorum", func(c *da.Certificate) { c.Quorum = 1; resign(c, testChainID, 0, 1, c.BatchRoot) }, ErrUnknownQuorum},
		{"batch root not the blobs' root", func(c *da.Certificate) { c.BatchRoot = otherRoot }, ErrMalformedTx},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok(tc.name)
			tc.mutate(c)
			err := h.both(certTx(t, c))
			wantErr(t, tc.name, err, tc.want)
			if err := h.query(QueryCertificate, c.BatchRoot[:], &CertificateRecord{}); !errors.Is(err, ErrNotFound) {
				t.Fatalf("rejected certificate recorded: %v", err)
			}
		})
	}
	t.Run("replay", func(t *testing.T) {
		c := ok("replay")
		tx := certTx(t, c)
		if err := h.both(tx); err != nil {
			t.Fatal(err)
		}
		wantErr(t, "same tx again (CheckTx)", h.check(tx), ErrDuplicate)
		wantErr(t, "same tx again (block)", h.deliver(tx), ErrDuplicate)
		again := certify(t, h.keys, testChainID, 0, 0, c.Blobs, 0, 1, 2, 3)
		wantErr(t, "same batch, other bitmap", h.both(certTx(t, again)), ErrDuplicate)
		// Two copies in one block: the second is a replay.
		c2 := ok("replay-2")
		errs := h.block(certTx(t, c2), certTx(t, c2))
		if errs[0] != nil {
			t.Fatal(errs[0])
		}
		wantErr(t, "second copy in the block", errs[1], ErrDuplicate)
	})
	t.Run("a key names its most recent batch", func(t *testing.T) {
		first := ok("first")
		if err := h.both(certTx(t, first)); err != nil {
			t.Fatal(err)
		}
		second := certify(t, h.keys, testChainID, 0, 0, append(blobs("second", 1, 1), first.Blobs[0]), signers...)
		if err := h.both(certTx(t, second)); err != nil {
			t.Fatal(err)
		}
		var rec CertificateRecord
		if err := h.query(QueryBlob, first.Blobs[0].Key[:], &rec); err != nil || rec.Certificate.BatchRoot != second.BatchRoot {
			t.Fatalf("blob → %s, %v; want the second batch %s", rec.Certificate.BatchRoot, err, second.BatchRoot)
		}
		if i, off, ok := rec.Certificate.Locate(first.Blobs[0].Key); !ok || i != 1 || off != 1 {
			t.Fatalf("blob at index %d offset %d (%v), want 1 and 1", i, off, ok)
		}
	})
}

// 8 signers with 255 ballots and 8 with one make 2048 tickets: two quorums
// of 1024. A one-ballot signer sits in exactly one of them; naming it in a
// certificate of the other is refused even though its signature is valid.
// With W = M the window is the whole quorum.
func TestCertificateWrongQuorum(t *testing.T) {
	stakes := make([]uint64, 16)
	for i := range stakes {
		stakes[i] = 255
		if i >= 8 {
			stakes[i] = 1
		}
	}
	p := smallParams()
	p.MinBatchSlots = p.QuorumSize
	h := newHarness(t, p, stakes, false)
	qs := h.epoch(0).Quorums
	if len(qs) != 2 {
		t.Fatalf("%d quorums, want 2", len(qs))
	}
	outsider := -1
	for i := 8; i < 16; i++ {
		if len(qs[0].SlotsOf(uint32(i))) == 0 && len(qs[1].SlotsOf(uint32(i))) == 1 {
			outsider = i
			break
		}
	}
	if outsider < 0 {
		t.Fatal("every one-ballot signer is in quorum 0")
	}
	members := map[uint32]bool{}
	for _, m := range qs[0].Members() {
		members[m] = true
	}
	var in []int
	for _, m := range qs[0].Members() {
		in = append(in, int(m))
	}
	bs := blobs("wrong-quorum", 1, 1)
	c := certify(t, h.keys, testChainID, 0, 0, bs, append(slices.Clone(in), outsider)...)
	err := h.both(certTx(t, c))
	wantErr(t, "outsider in the bitmap", err, ErrNotInQuorum)
	if !contains(err.Error(), fmt.Sprintf("signer %d holds no slot of batch", outsider)) {
		t.Fatalf("error does not name the signer: %v", err)
	}
	if err := h.both(certTx(t, certify(t, h.keys, testChainID, 0, 0, bs, in...))); err != nil {
		t.Fatalf("quorum 0's own members: %v", err)
	}
	var in1 []int
	for _, m := range qs[1].Members() {
		in1 = append(in1, int(m))
	}
	if err := h.both(certTx(t, certify(t, h.keys, testChainID, 0, 1, blobs("q1", 1, 1), in1...))); err != nil {
		t.Fatalf("quorum 1's members: %v", err)
	}
}
