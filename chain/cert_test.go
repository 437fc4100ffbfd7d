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
		{"aggregate counts a signer twice (once per slot)", func(c *da.Certificate) {
			msg := c.Message(testChainID)
			agg, _ := signer.AggregateSignatures([]*signer.Signature{h.keys[0].Sign(msg), h.keys[0].Sign(msg), h.keys[1].Sign(msg), h.keys[2].Sign(msg)})
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

// windowSigners is the number of one-ballot signers of ownSlotHarness.
const windowSigners = 300

// ownSlotHarness is a chain of 300 one-ballot signers: with 300 < M = 1024
// tickets the quorum takes them cyclically (slot s belongs to the s mod
// 300-th ticket), so any 256 consecutive quorum slots, and so any window of
// S = 256, hold 256 distinct signers once each, and 44 quorum members hold no
// slot of it. A set of signers is then a set of window slots.
func ownSlotHarness(t *testing.T) (*harness, da.Quorum) {
	t.Helper()
	stakes := make([]uint64, windowSigners)
	for i := range stakes {
		stakes[i] = 1
	}
	h := newHarness(t, smallParams(), stakes, false)
	qs := h.epoch(0).Quorums
	if len(qs) != 1 || len(qs[0]) != 1024 || len(qs[0].Members()) != windowSigners {
		t.Fatalf("%d quorums", len(qs))
	}
	return h, qs[0]
}

// TestCertificateWindow: a certificate counts the batch's window, not the
// quorum. N = 160 (D = 40) does not divide W = 256: S = 256, q = 1, rows
// 0…95 have m_r = q+1 = 2 window slots and rows 96…159 one. The holders of
// the rows held twice hold 192 of the 256 slots (75%, over 2/3) but only 96
// of the 160 rows (60% of the weight): a certificate signed by just them
// proves that too few rows are held to rebuild the batch, and is refused.
// The honest certificate, and the least weight reaching 2/3, are accepted,
// and every key then locates its blob. A quorum member outside the window
// cannot sign.
func TestCertificateWindow(t *testing.T) {
	h, q := ownSlotHarness(t)
	// R = 3, 1, 5, 2, 29: D = 40, offsets 0, 3, 4, 9, 11.
	rows := []uint32{3, 1, 5, 2, 29}
	offsets := []int{0, 3, 4, 9, 11}
	mk := func(tag string) []da.CertifiedBlob {
		bs := blobs(tag, len(rows), 1)
		for i := range bs {
			bs[i].Rows = rows[i]
		}
		return bs
	}
	// The signers of the window slots of rows held twice and of rows held
	// once, and the quorum members without a window slot.
	type split struct{ twice, once, outside []int }
	window := func(bs []da.CertifiedBlob) split {
		t.Helper()
		root, _ := da.BatchRoot(bs)
		start := int(binary.BigEndian.Uint64(root[:8]) % 1024)
		var sp split
		seen := map[uint32]bool{}
		for i := 0; i < 256; i++ {
			s := q[(start+i)%1024]
			if seen[s] {
				t.Fatalf("signer %d holds two window slots", s)
			}
			seen[s] = true
			if i%160 < 96 { // row i mod 160; rows below 256 mod 160 = 96 are held twice
				sp.twice = append(sp.twice, int(s))
			} else {
				sp.once = append(sp.once, int(s))
			}
		}
		for _, m := range q.Members() {
			if !seen[m] {
				sp.outside = append(sp.outside, int(m))
			}
		}
		if len(sp.twice) != 192 || len(sp.once) != 64 || len(sp.outside) != windowSigners-256 {
			t.Fatalf("%d slots of rows held twice, %d of rows held once, %d members outside", len(sp.twice), len(sp.once), len(sp.outside))
		}
		return sp
	}

	// Q = q(q+1) = 2: a slot of a row held twice weighs 1, of a row held
	// once 2; total N·Q = 320, 2/3 of it 213⅓.
	bs := mk("replicated-only")
	sp := window(bs)
	err := h.both(certTx(t, certify(t, h.keys, testChainID, 0, 0, bs, sp.twice...)))
	wantErr(t, "192 of 256 slots, weight 192 of 320", err, ErrInsufficientSlots)
	if !contains(err.Error(), "weight 192 of 320") {
		t.Fatalf("error does not give the weight: %v", err)
	}
	// 10 single-copy slots more: 202 slots, weight 212 < 213⅓.
	err = h.both(certTx(t, certify(t, h.keys, testChainID, 0, 0, bs, append(slices.Clone(sp.twice), sp.once[:10]...)...)))
	wantErr(t, "weight 212 of 320", err, ErrInsufficientSlots)
	if !contains(err.Error(), "weight 212 of 320") {
		t.Fatalf("error does not give the weight: %v", err)
	}
	// 11 more: weight 214 ≥ 213⅓.
	if err := h.both(certTx(t, certify(t, h.keys, testChainID, 0, 0, bs, append(slices.Clone(sp.twice), sp.once[:11]...)...))); err != nil {
		t.Fatalf("weight 214 of 320: %v", err)
	}
	// The single-copy rows plus half of the rest: 160 slots (62.5%), but
	// weight 64·2 + 96 = 224 ≥ 2/3.
	honestish := mk("once-heavy")
	sp2 := window(honestish)
	if err := h.both(certTx(t, certify(t, h.keys, testChainID, 0, 0, honestish, append(slices.Clone(sp2.once), sp2.twice[:96]...)...))); err != nil {
		t.Fatalf("160 slots of weight 224 of 320: %v", err)
	}

	// The honest certificate: every window slot signed; with a quorum
	// member outside the window added, it is refused.
	honest := mk("honest")
	sp3 := window(honest)
	inWindow := append(slices.Clone(sp3.twice), sp3.once...)
	err = h.both(certTx(t, certify(t, h.keys, testChainID, 0, 0, honest, append(slices.Clone(inWindow), sp3.outside[0])...)))
	wantErr(t, "a quorum member outside the window", err, ErrNotInQuorum)
	if !contains(err.Error(), fmt.Sprintf("signer %d holds no slot of batch", sp3.outside[0])) {
		t.Fatalf("error does not name the signer: %v", err)
	}
	c := certify(t, h.keys, testChainID, 0, 0, honest, inWindow...)
	if err := h.both(certTx(t, c)); err != nil {
		t.Fatalf("honest: %v", err)
	}
	for i, b := range honest {
		var loc BlobLocation
		if err := h.query(QueryBlobBatch, b.Key[:], &loc); err != nil {
			t.Fatalf("blob %d: %v", i, err)
		}
		if want := (BlobLocation{BatchRoot: c.BatchRoot, Index: i, Offset: offsets[i], Rows: rows[i], Height: h.height}); loc != want {
			t.Fatalf("blob %d: %+v, want %+v", i, loc, want)
		}
		var rec CertificateRecord
		if err := h.query(QueryBlob, b.Key[:], &rec); err != nil || rec.Certificate.BatchRoot != c.BatchRoot || rec.Height != h.height {
			t.Fatalf("blob %d: certificate %v %+v", i, err, rec)
		}
	}
}

// A key names its most recently recorded batch, with its index and offset
// there; malformed lookups are refused.
func TestBlobBatch(t *testing.T) {
	h := newHarness(t, smallParams(), []uint64{256, 256, 256, 256}, false)
	all := []int{0, 1, 2, 3}
	first := certify(t, h.keys, testChainID, 0, 0, []da.CertifiedBlob{
		{Key: da.BlobKey{1}, Rows: 7}, {Key: da.BlobKey{2}, Rows: 2}, {Key: da.BlobKey{3}, Rows: 1},
	}, all...)
	if err := h.both(certTx(t, first)); err != nil {
		t.Fatal(err)
	}
	h1 := h.height
	h.block()
	// Blob 2 posted again, now after a blob of 4 rows.
	second := certify(t, h.keys, testChainID, 0, 0, []da.CertifiedBlob{
		{Key: da.BlobKey{4}, Rows: 4}, {Key: da.BlobKey{2}, Rows: 2},
	}, all...)
	if err := h.both(certTx(t, second)); err != nil {
		t.Fatal(err)
	}
	h2 := h.height
	for _, tc := range []struct {
		key  da.BlobKey
		want BlobLocation
	}{
		{da.BlobKey{1}, BlobLocation{first.BatchRoot, 0, 0, 7, h1}},
		{da.BlobKey{2}, BlobLocation{second.BatchRoot, 1, 4, 2, h2}},
		{da.BlobKey{3}, BlobLocation{first.BatchRoot, 2, 9, 1, h1}},
		{da.BlobKey{4}, BlobLocation{second.BatchRoot, 0, 0, 4, h2}},
	} {
		var loc BlobLocation
		if err := h.query(QueryBlobBatch, tc.key[:], &loc); err != nil || loc != tc.want {
			t.Errorf("key %s: %+v (%v), want %+v", tc.key, loc, err, tc.want)
		}
		var rec CertificateRecord
		if err := h.query(QueryBlob, tc.key[:], &rec); err != nil || rec.Certificate.BatchRoot != tc.want.BatchRoot || rec.Height != tc.want.Height {
			t.Errorf("key %s: certificate %s at %d (%v)", tc.key, rec.Certificate.BatchRoot, rec.Height, err)
		}
	}
	// The first batch's own record is unchanged.
	var rec CertificateRecord
	if err := h.query(QueryCertificate, first.BatchRoot[:], &rec); err != nil || rec.Height != h1 || len(rec.Certificate.Blobs) != 3 {
		t.Fatalf("first batch: %+v (%v)", rec, err)
	}
	for _, path := range []string{QueryBlobBatch, QueryBlob} {
		err := h.query(path, make([]byte, 31), &BlobLocation{})
		if te, ok := err.(*TxError); !ok || te.Code != CodeMalformed {
			t.Errorf("%s with 31 bytes: %v", path, err)
		}
		unknown := da.BlobKey{9}
		if err := h.query(path, unknown[:], &BlobLocation{}); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s of an unknown key: %v", path, err)
		}
	}
}

// With availability_epochs = 1 a key's batch is looked up while the current
// epoch is at most the certificate's epoch + 1, counted from the
// certificate's epoch, not from the block that recorded it; the certificate
// itself stays queryable by root. With 0 (the default) lookups never expire.
func TestBlobBatchAvailabilityWindow(t *testing.T) {
	const E = 10
	p := smallParams()
	p.EpochLength = E
	p.AvailabilityEpochs = 1
	h := newHarness(t, p, []uint64{256, 256, 256, 256}, false)
	all := []int{0, 1, 2, 3}
	h.block() // opens epoch 0, fixes epoch 1's seed
	seed1 := h.epoch(1).Seed
	for i := range h.keys {
		if err := h.both(NewVRFTx(testChainID, h.keys[i], 1, seed1)); err != nil {
			t.Fatal(err)
		}
	}
	early := certify(t, h.keys, testChainID, 0, 0, blobs("early", 2, 1), all...)
	if err := h.both(certTx(t, early)); err != nil {
		t.Fatal(err)
	}
	h.advanceTo(E + 1) // epoch 1
	// An epoch-0 certificate recorded in epoch 1.
	late := certify(t, h.keys, testChainID, 0, 0, blobs("late", 1, 1), all...)
	if err := h.both(certTx(t, late)); err != nil {
		t.Fatal(err)
	}
	// early's blob 1 posted again in an epoch-1 batch.
	repost := certify(t, h.keys, testChainID, 1, 0, append(blobs("repost", 1, 1), early.Blobs[1]), all...)
	if err := h.both(certTx(t, repost)); err != nil {
		t.Fatal(err)
	}
	found := func(key da.BlobKey) error {
		var loc BlobLocation
		err := h.query(QueryBlobBatch, key[:], &loc)
		var rec CertificateRecord
		err2 := h.query(QueryBlob, key[:], &rec)
		if (err == nil) != (err2 == nil) {
			t.Fatalf("key %s: /blob_batch %v, /blob %v", key, err, err2)
		}
		return err
	}
	for _, k := range []da.BlobKey{early.Blobs[0].Key, early.Blobs[1].Key, late.Blobs[0].Key, repost.Blobs[0].Key} {
		if err := found(k); err != nil {
			t.Fatalf("epoch 1: key %s: %v", k, err)
		}
	}
	h.advanceTo(2*E + 1) // epoch 2: epoch-0 batches have left the window
	for _, k := range []da.BlobKey{early.Blobs[0].Key, late.Blobs[0].Key} {
		err := found(k)
		wantErr(t, "epoch-0 batch in epoch 2", err, ErrNotFound)
		// The epoch's first block pruned their index entries: the state
		// does not keep every key ever certified.
		if raw, err := h.app.st.getCommitted(keyBlob(k)); err != nil || raw != nil {
			t.Fatalf("key %s of an expired batch is still indexed (%v)", k, err)
		}
	}
	// early's blob 1 was certified again in epoch 1: its entry, which names
	// the newer batch, stays.
	if raw, err := h.app.st.getCommitted(keyBlob(early.Blobs[1].Key)); err != nil || raw == nil {
		t.Fatalf("a key a newer batch took over was pruned (%v)", err)
	}
	for _, k := range []da.BlobKey{early.Blobs[1].Key, repost.Blobs[0].Key} {
		if err := found(k); err != nil {
			t.Fatalf("epoch 2: key %s of the epoch-1 batch: %v", k, err)
		}
	}
	if err := h.query(QueryCertificate, early.BatchRoot[:], &CertificateRecord{}); err != nil {
		t.Fatalf("the expired batch's certificate by root: %v", err)
	}
	h.advanceTo(3*E + 1) // epoch 3: all gone
	wantErr(t, "epoch-1 batch in epoch 3", found(repost.Blobs[0].Key), ErrNotFound)

	// Unbounded: an epoch-0 batch is still found in epoch 5.
	p.AvailabilityEpochs = 0
	u := newHarness(t, p, []uint64{256, 256, 256, 256}, false)
	u.block()
	c := certify(t, u.keys, testChainID, 0, 0, blobs("forever", 1, 1), all...)
	if err := u.both(certTx(t, c)); err != nil {
		t.Fatal(err)
	}
	u.advanceTo(5*E + 1)
	var loc BlobLocation
	if err := u.query(QueryBlobBatch, c.Blobs[0].Key[:], &loc); err != nil || loc.BatchRoot != c.BatchRoot {
		t.Fatalf("unbounded window, epoch 5: %+v %v", loc, err)
	}
}
