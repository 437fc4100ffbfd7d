package chain

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	ics23 "github.com/cosmos/ics23/go"

	"github.com/zgda/zgda/da"
)

// provenQuery runs a proven query at height and checks every proof with
// cosmos/ics23 alone against root: membership for a key that exists (its
// value taken from the proof), absence otherwise. It returns the answer
// and the proven key → value map (nil value: proven absent).
func provenQuery(t *testing.T, h *harness, height int64, root []byte, path string, data []byte, out any) map[string][]byte {
	t.Helper()
	return provenAnswer(t, h, height, root, path, data, out, CodeOK)
}

// provenAnswer is provenQuery for an answer with the given code.
func provenAnswer(t *testing.T, h *harness, height int64, root []byte, path string, data []byte, out any, code uint32) map[string][]byte {
	t.Helper()
	res, err := h.app.Query(context.Background(), &abci.QueryRequest{Path: path, Data: data, Height: height, Prove: true})
	if err != nil || res.Code != code {
		t.Fatalf("%s: code %d, want %d: %v %s", path, res.GetCode(), code, err, res.GetLog())
	}
	if res.Height != height || res.ProofOps == nil || len(res.ProofOps.Ops) == 0 {
		t.Fatalf("%s: height %d, %d proofs", path, res.Height, len(res.ProofOps.GetOps()))
	}
	proven := map[string][]byte{}
	for _, op := range res.ProofOps.Ops {
		if op.Type != ProofOpType {
			t.Fatalf("%s: proof type %q", path, op.Type)
		}
		var cp ics23.CommitmentProof
		if err := cp.Unmarshal(op.Data); err != nil {
			t.Fatal(err)
		}
		if ex := cp.GetExist(); ex != nil {
			if !bytes.Equal(ex.Key, op.Key) || !ics23.VerifyMembership(ics23.IavlSpec, root, &cp, op.Key, ex.Value) {
				t.Fatalf("%s: membership proof of %q does not verify", path, op.Key)
			}
			proven[string(op.Key)] = ex.Value
			// The same proof with another value must fail.
			if ics23.VerifyMembership(ics23.IavlSpec, root, &cp, op.Key, append(bytes.Clone(ex.Value), 0)) {
				t.Fatalf("%s: a changed value verified", path)
			}
		} else if !ics23.VerifyNonMembership(ics23.IavlSpec, root, &cp, op.Key) {
			t.Fatalf("%s: absence proof of %q does not verify", path, op.Key)
		} else {
			proven[string(op.Key)] = nil
		}
	}
	if out != nil && code == CodeOK {
		if err := json.Unmarshal(res.Value, out); err != nil {
			t.Fatal(err)
		}
	}
	return proven
}

// The app hash is the root of the state's IAVL tree, and proven queries
// return ICS-23 proofs that cosmos/ics23 verifies against it, at the last
// height and at an earlier one, for the signer registry, an epoch with its
// quorums, a certificate, a blob's batch and a key that is not there.
func TestProvenQueries(t *testing.T) {
	h := newHarness(t, smallParams(), []uint64{256, 256, 256, 256}, true)
	h.block()
	before, beforeRoot := h.height, h.app.AppHash()
	all := []int{0, 1, 2, 3}
	c := certify(t, h.keys, testChainID, 0, 0, blobs("proven", 3, 2), all...)
	if err := h.deliver(certTx(t, c)); err != nil {
		t.Fatal(err)
	}
	height, root := h.height, h.app.AppHash()

	var rec CertificateRecord
	p := provenQuery(t, h, height, root, QueryCertificate, c.BatchRoot[:], &rec)
	if v := p[string(keyCert(c.BatchRoot))]; v == nil || rec.Certificate.BatchRoot != c.BatchRoot {
		t.Fatalf("certificate not proven: %+v", rec)
	}
	var loc BlobLocation
	p = provenQuery(t, h, height, root, QueryBlobBatch, c.Blobs[2].Key[:], &loc)
	got, _, err := unmarshalBlobLocation(p[string(keyBlob(c.Blobs[2].Key))])
	if err != nil || got.BatchRoot != c.BatchRoot || got.Offset != 4 || loc.Offset != 4 {
		t.Fatalf("blob location: proven %+v, answered %+v (%v)", got, loc, err)
	}
	var signers []SignerInfo
	p = provenQuery(t, h, height, root, QuerySigners, nil, &signers)
	if len(signers) != 4 || binary.BigEndian.Uint32(p[string(keyCount)]) != 4 {
		t.Fatalf("%d signers, count proven as %x", len(signers), p[string(keyCount)])
	}
	for i, s := range signers {
		var back SignerInfo
		if err := back.unmarshal(uint32(i), p[string(keySigner(uint32(i)))]); err != nil || back.PubKey != s.PubKey || back.Stake != s.Stake {
			t.Fatalf("signer %d: proven %+v, answered %+v", i, back, s)
		}
	}
	var ep EpochInfo
	p = provenQuery(t, h, height, root, QueryEpoch, binary.BigEndian.AppendUint64(nil, 0), &ep)
	var er epochRecord
	if err := er.unmarshal(p[string(keyEpoch(0))]); err != nil || len(er.quorums) != len(ep.Quorums) || !slicesEqual(er.quorums[0], ep.Quorums[0]) {
		t.Fatalf("epoch 0's quorums not proven: %v", err)
	}
	// A certificate not recorded: its absence is proven.
	missing := da.Hash{0xee}
	p = provenAnswer(t, h, height, root, QueryCertificate, missing[:], nil, CodeNotFound)
	if v, ok := p[string(keyCert(missing))]; !ok || v != nil {
		t.Fatal("the missing certificate's absence is not proven")
	}
	// At the earlier height the batch did not exist: its key's absence is
	// proven against that height's app hash.
	p = provenAnswer(t, h, before, beforeRoot, QueryBlobBatch, c.Blobs[0].Key[:], nil, CodeNotFound)
	if v, ok := p[string(keyBlob(c.Blobs[0].Key))]; !ok || v != nil {
		t.Fatal("the blob's absence at the earlier height is not proven")
	}
	pk := h.keys[1].PublicKey().Bytes()
	p = provenQuery(t, h, before, beforeRoot, QuerySigner, pk[:], &SignerInfo{})
	if len(p) != 2 {
		t.Fatalf("signer by key proves %d keys, want the index and the record", len(p))
	}
	if bytes.Equal(beforeRoot, root) {
		t.Fatal("a certificate did not change the app hash")
	}
}

func slicesEqual(a, b da.Quorum) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
