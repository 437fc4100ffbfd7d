package chain

import (
	"crypto/sha256"
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
	p.QuorumSize = 256
	p.EpochLength = 1000
	return p
}

// With 256 ballots in all and M = 256 there is one quorum in which each
// signer holds exactly as many slots as it has ballots. A K=1 blob spans all
// 256 slots, so 2/3 means 171 slots: {128, 43} passes, {128, 42} does not.
func TestCertificateThresholdBoundary(t *testing.T) {
	h := newHarness(t, smallParams(), []uint64{128, 43, 42, 1, 42}, false)
	q := h.epoch(0).Quorums
	if len(q) != 1 {
		t.Fatalf("%d quorums, want 1", len(q))
	}
	for i, want := range []int{128, 43, 42, 1, 42} {
		if got := len(q[0].SlotsOf(uint32(i))); got != want {
			t.Fatalf("signer %d holds %d slots, want %d", i, got, want)
		}
	}
	for _, tc := range []struct {
		name    string
		signers []int
		rows    uint32
		ok      bool
		signed  int
	}{
		{"171 of 256", []int{0, 1}, 1, true, 171},
		{"170 of 256", []int{0, 2}, 1, false, 170},
		{"171 again, three signers", []int{0, 2, 3}, 1, true, 171},
		{"170, K=64 (S=256)", []int{0, 4}, 64, false, 170},
		{"all", []int{0, 1, 2, 3, 4}, 64, true, 256},
		{"one big signer", []int{0}, 1, false, 128},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := certify(t, h.keys, testChainID, 0, 0, blobs(tc.name, 3, tc.rows), tc.signers...)
			err := h.both(certTx(t, c))
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				var rec CertificateRecord
				if err := h.query(QueryCertificate, c.BatchRoot[:], &rec); err != nil || rec.Height != h.height {
					t.Fatalf("recorded certificate: %v %+v", err, rec)
				}
				for _, b := range c.Blobs {
					var r2 CertificateRecord
					if err := h.query(QueryBlob, b.Key[:], &r2); err != nil || r2.Certificate.BatchRoot != c.BatchRoot {
						t.Fatalf("blob %s → %v %v", b.Key, err, r2.Certificate.BatchRoot)
					}
				}
				return
			}
			wantErr(t, tc.name, err, ErrInsufficientSlots)
			if te := err.(*TxError); te.Code != CodeInsufficientSlots {
				t.Fatalf("code %d", te.Code)
			}
			want := fmt.Sprintf("signers hold %d of its 256 slots, need 171", tc.signed)
			if !contains(err.Error(), want) {
				t.Fatalf("error %q does not say %q", err, want)
			}
			if err := h.query(QueryCertificate, c.BatchRoot[:], &CertificateRecord{}); !errors.Is(err, ErrNotFound) {
				t.Fatalf("rejected certificate recorded: %v", err)
			}
		})
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// signedSlots counts, independently of da.Quorum.SignedBlobSlots, how many of
// a K=1 blob's 256 slots the set holds.
func signedSlots(q da.Quorum, key da.BlobKey, set map[uint32]bool) int {
	start := int((uint64(key[0])<<56 | uint64(key[1])<<48 | uint64(key[2])<<40 | uint64(key[3])<<32 |
		uint64(key[4])<<24 | uint64(key[5])<<16 | uint64(key[6])<<8 | uint64(key[7])) % uint64(len(q)))
	n := 0
	for i := 0; i < 256; i++ {
		if set[q[(start+i)%len(q)]] {
			n++
		}
	}
	return n
}

// With M = 512 a K=1 blob spans half the quorum, so the same signers can hold
// 2/3 of one blob's slots and not another's; the certificate must fail if
// any one blob falls short.
func TestCertificateEveryBlob(t *testing.T) {
	p := smallParams()
	p.QuorumSize = 512
	stakes := make([]uint64, 8)
	for i := range stakes {
		stakes[i] = 64
	}
	h := newHarness(t, p, stakes, false)
	q := h.epoch(0).Quorums[0]
	// Find signers and keys such that the signers hold 2/3 of two blobs'
	// slots and less than 2/3 of a third's.
	var subset []int
	var pass, fail []da.CertifiedBlob
	for mask := 0; mask < 256 && (len(pass) < 2 || len(fail) < 1); mask++ {
		subset, pass, fail = nil, nil, nil
		set := map[uint32]bool{}
		for i := 0; i < 8; i++ {
			if mask&(1<<i) != 0 {
				subset = append(subset, i)
				set[uint32(i)] = true
			}
		}
		if len(subset) < 5 || len(subset) > 6 {
			continue
		}
		for i := 0; i < 4000 && (len(pass) < 2 || len(fail) < 1); i++ {
			b := da.CertifiedBlob{Key: da.BlobKey(sha256.Sum256(fmt.Appendf(nil, "k%d", i))), Rows: 1}
			if n := signedSlots(q, b.Key, set); 3*n >= 2*256 {
				pass = append(pass, b)
			} else if len(fail) == 0 {
				fail = append(fail, b)
			}
		}
	}
	bad := certify(t, h.keys, testChainID, 0, 0, []da.CertifiedBlob{pass[0], fail[0], pass[1]}, subset...)
	err := h.both(certTx(t, bad))
	wantErr(t, "one blob short", err, ErrInsufficientSlots)
	if !contains(err.Error(), "blob 1 ("+fail[0].Key.String()+")") {
		t.Fatalf("error does not name blob 1: %v", err)
	}
	good := certify(t, h.keys, testChainID, 0, 0, pass[:2], subset...)
	if err := h.both(certTx(t, good)); err != nil {
		t.Fatalf("every blob above 2/3: %v", err)
	}
	// All eight signers pass the blob that five could not.
	all := certify(t, h.keys, testChainID, 0, 0, fail[:1], 0, 1, 2, 3, 4, 5, 6, 7)
	if err := h.both(certTx(t, all)); err != nil {
		t.Fatal(err)
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
		{"batch root not the keys' root", func(c *da.Certificate) { c.BatchRoot = otherRoot }, ErrMalformedTx},
		{"K too large for M = 256", func(c *da.Certificate) { c.Blobs[0].Rows = 128; c.BatchRoot, _ = da.BatchRoot(c.Keys()) }, ErrMalformedTx},
		{"repeated blob key", func(c *da.Certificate) { c.Blobs[1] = c.Blobs[0]; c.BatchRoot, _ = da.BatchRoot(c.Keys()) }, ErrMalformedTx},
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
	t.Run("blob keeps its first batch", func(t *testing.T) {
		first := ok("first")
		if err := h.both(certTx(t, first)); err != nil {
			t.Fatal(err)
		}
		second := certify(t, h.keys, testChainID, 0, 0, append(blobs("second", 1, 1), first.Blobs[0]), signers...)
		if err := h.both(certTx(t, second)); err != nil {
			t.Fatal(err)
		}
		var rec CertificateRecord
		if err := h.query(QueryBlob, first.Blobs[0].Key[:], &rec); err != nil || rec.Certificate.BatchRoot != first.BatchRoot {
			t.Fatalf("blob → %s, %v", rec.Certificate.BatchRoot, err)
		}
	})
}

// 8 signers with 63 ballots and 8 with one make 512 tickets: two quorums of
// 256. A one-ballot signer sits in exactly one of them; naming it in a
// certificate of the other is refused even though its signature is valid.
func TestCertificateWrongQuorum(t *testing.T) {
	stakes := make([]uint64, 16)
	for i := range stakes {
		stakes[i] = 63
		if i >= 8 {
			stakes[i] = 1
		}
	}
	h := newHarness(t, smallParams(), stakes, false)
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
	if !contains(err.Error(), fmt.Sprintf("signer %d holds no slot of quorum 0", outsider)) {
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
