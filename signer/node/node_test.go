package node_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

	"github.com/zgda/zgda/chain"
	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/dispersal"
	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/kzg"
	"github.com/zgda/zgda/signer"
	"github.com/zgda/zgda/signer/node"
)

// Eight DA nodes, one chain: a batch is dispersed, certified, accepted on
// chain, and read back; then the nodes are fed bad input of every kind.
func TestCluster(t *testing.T) {
	c := newCluster(t, 8, nil)
	ctx := ctxT(t, 3*time.Minute)
	blobs := encodeBlobs(t, 1, 1000, encoder.BytesPerRow, 200_000) // K = 1, 1, 2

	t.Run("disperse certify retrieve", func(t *testing.T) {
		cert, rep, err := c.disp.Disperse(ctx, blobs)
		if err != nil {
			t.Fatalf("%v\n%+v", err, rep)
		}
		if len(rep.Failed()) != 0 || cert.Signers.Count() != 8 {
			t.Fatalf("failed nodes %v, %d signers", rep.Failed(), cert.Signers.Count())
		}
		for _, b := range rep.Blobs {
			if !b.OK || b.Slots != 256 || b.Signed != 256 {
				t.Fatalf("blob result %+v", b)
			}
		}
		if len(cert.Blobs) != 3 || cert.Blobs[2].Rows != 2 || cert.Blobs[0].Key != blobs[0].Key {
			t.Fatalf("certificate blobs %+v", cert.Blobs)
		}
		rec := c.submitCert(cert)
		if rec.Height < 1 {
			t.Fatalf("record %+v", rec)
		}
		// Every node stored each distinct row of its slots and the headers.
		ep, _ := c.client.Epoch(ctx, cert.Epoch)
		q := ep.Quorums[cert.Quorum]
		for i := range c.nodes {
			want := 0
			for _, b := range blobs {
				rows := map[uint32]bool{}
				for _, a := range q.BlobAssignments(b.Key, uint32(b.Params.K)) {
					if a.Signer == c.nodes[i].Index() {
						rows[a.Row] = true
					}
				}
				want += len(rows)
			}
			if got := c.count(i, "row/"); got != want {
				t.Fatalf("node %d stores %d rows, its slots hold %d", i, got, want)
			}
			if got := c.count(i, "hdr/"); got != 3 {
				t.Fatalf("node %d stores %d headers", i, got)
			}
		}
		// Rows come back byte-identical, from the holders, checked.
		for _, b := range blobs {
			for _, r := range []uint32{0, uint32(b.Params.K), uint32(4*b.Params.K - 1)} {
				got, err := c.disp.FetchRow(ctx, b.Key, r)
				if err != nil {
					t.Fatalf("row %d of %s: %v", r, b.Key, err)
				}
				if !bytes.Equal(rowBytes(got), rowBytes(b.Rows[r])) {
					t.Fatalf("row %d of %s differs", r, b.Key)
				}
			}
		}
		if h, err := c.disp.Header(ctx, blobs[2].Key); err != nil || h.Length != 200_000 || h.Rows != 2 {
			t.Fatalf("header %+v %v", h, err)
		}
		// Cells verify with their proofs against the row commitments.
		b := blobs[2]
		var comms []kzg.Commitment
		var idx []uint64
		var cells [][]fr.Element
		var proofs []kzg.Proof
		for _, rc := range [][2]int{{0, 0}, {0, 127}, {5, 77}, {7, 3}} {
			cell, proof, err := c.disp.FetchCell(ctx, b.Key, uint32(rc[0]), uint16(rc[1]))
			if err != nil {
				t.Fatalf("cell %v: %v", rc, err)
			}
			comms = append(comms, b.Commitments[rc[0]])
			idx = append(idx, uint64(rc[1]))
			cells = append(cells, cell)
			proofs = append(proofs, proof)
		}
		if err := kzg.Default().VerifyCells(comms, idx, cells, proofs); err != nil {
			t.Fatalf("cells do not verify: %v", err)
		}
		// A wrong proof for a right cell does not.
		proofs[0], proofs[1] = proofs[1], proofs[0]
		if err := kzg.Default().VerifyCells(comms, idx, cells, proofs); err == nil {
			t.Fatal("swapped proofs verified")
		}
		cached := 0
		for i := range c.nodes {
			cached += c.count(i, "cells/")
		}
		if cached == 0 {
			t.Fatal("no node cached the cells it computed")
		}
		// Unknown blobs are not found.
		if _, err := c.disp.FetchRow(ctx, da.BlobKey{1}, 0); !errors.Is(err, dispersal.ErrNotFound) {
			t.Fatalf("unknown blob: %v", err)
		}
	})

	t.Run("VRF outputs for the next epoch", func(t *testing.T) {
		deadline := time.Now().Add(20 * time.Second)
		for {
			ep, err := c.client.Epoch(ctx, 1)
			if err == nil && len(ep.VRFs) == 8 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("epoch 1 VRF outputs: %v %+v", err, ep)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})

	fresh := encodeBlobs(t, 2, 5000)
	sg := c.nodes[3]

	t.Run("corrupted row refused and named", func(t *testing.T) {
		before := c.count(3, "row/")
		req := c.requestFor(fresh, sg.Index())
		if len(req.Slices) < 2 {
			t.Fatalf("node 3 holds %d rows", len(req.Slices))
		}
		// Change one element of the second row, keeping it canonical.
		bad := req.Slices[1]
		data := bytes.Clone(bad.Data)
		data[100*32+31] ^= 1
		req.Slices[1].Data = data
		ans := c.send(sg, da.ProtocolDisperse, req)
		r, ok := ans.(*da.DisperseResponse)
		if !ok || r.OK || r.Code != da.CodeBadRows {
			t.Fatalf("answer %#v", ans)
		}
		if len(r.Rows) != 1 || r.Rows[0] != bad.SliceRef {
			t.Fatalf("named %v, want %v", r.Rows, bad.SliceRef)
		}
		if got := c.count(3, "row/"); got != before {
			t.Fatalf("stored %d rows of a refused batch", got-before)
		}
		if got := c.count(3, "hdr/"); got != 3 {
			t.Fatalf("stored the header of a refused batch")
		}
		// The same request, intact, is signed.
		req.Slices[1].Data = bad.Data
		ans = c.send(sg, da.ProtocolDisperse, req)
		r, ok = ans.(*da.DisperseResponse)
		if !ok || !r.OK {
			t.Fatalf("intact request: %#v", ans)
		}
		root, _ := da.BatchRoot(req.Keys())
		s, err := signer.ParseSignature(r.Signature[:])
		if err != nil || !sg.PublicKey().Verify(da.AttestationMessage(testChainID, req.Epoch, 0, root), s) {
			t.Fatalf("signature over the batch does not verify: %v", err)
		}
		if got := c.count(3, "row/"); got != before+len(req.Slices) {
			t.Fatalf("stored %d rows, want %d", got-before, len(req.Slices))
		}
	})

	t.Run("bad input", func(t *testing.T) {
		// A K = 8 blob whose header is consistent but whose commitments and
		// rows are made up: the checks below all come before verification.
		fake := fakeHeader(8)
		good := func() *da.DisperseRequest {
			ep, _ := c.client.CurrentEpoch(ctx)
			req := &da.DisperseRequest{ChainID: testChainID, Epoch: ep.Epoch, Headers: []da.BlobHeader{fake}}
			for _, r := range heldRows(ep.Quorums[0], sg.Index(), fake) {
				req.Slices = append(req.Slices, da.Slice{SliceRef: da.SliceRef{Row: r}, Data: make([]byte, da.RowSize)})
			}
			return req
		}
		notHeld := func() (*da.DisperseRequest, da.SliceRef) {
			req := good()
			held := map[uint32]bool{}
			for _, s := range req.Slices {
				held[s.Row] = true
			}
			for r := uint32(0); r < 32; r++ {
				if !held[r] {
					req.Slices = append(req.Slices, da.Slice{SliceRef: da.SliceRef{Row: r}, Data: make([]byte, da.RowSize)})
					slices.SortFunc(req.Slices, func(a, b da.Slice) int { return int(a.Row) - int(b.Row) })
					return req, da.SliceRef{Row: r}
				}
			}
			t.Fatal("node 3 holds every row of a K = 8 blob")
			return nil, da.SliceRef{}
		}
		nh, nhRef := notHeld()
		missing := good()
		missRef := missing.Slices[2].SliceRef
		missing.Slices = slices.Delete(missing.Slices, 2, 3)
		wrongKey := good()
		wrongKey.Headers[0].Key[0] ^= 1
		tooBig := good()
		tooBig.Headers[0] = fakeHeader(128)
		tooBig.Slices = nil
		kLength := good()
		kLength.Headers[0].Length = 10 // K = 8 for 10 bytes
		kLength.Headers[0].Key = encoder.BlobKey(10, kzgComms(kLength.Headers[0].Commitments))
		badPoint := good()
		badPoint.Headers[0] = fakeHeader(8)
		nonCanon := c.requestFor(fresh, sg.Index())
		nonCanon.Slices[0].Data = bytes.Repeat([]byte{0xff}, da.RowSize)

		cases := []struct {
			name   string
			req    func() *da.DisperseRequest
			code   da.ErrorCode
			reason string
			rows   []da.SliceRef
		}{
			{"wrong chain", func() *da.DisperseRequest { r := good(); r.ChainID = "other"; return r }, da.CodeWrongChain, `chain "other"`, nil},
			{"future epoch", func() *da.DisperseRequest { r := good(); r.Epoch = 99; return r }, da.CodeUnknownEpoch, "epoch 99 is not known", nil},
			{"next epoch not started", func() *da.DisperseRequest { r := good(); r.Epoch = 1; return r }, da.CodeUnknownEpoch, "epoch 1 has not started", nil},
			{"unknown quorum", func() *da.DisperseRequest { r := good(); r.Quorum = 3; return r }, da.CodeUnknownQuorum, "no quorum 3", nil},
			{"key not of header", func() *da.DisperseRequest { return wrongKey }, da.CodeBadHeader, "is not the key", nil},
			{"K over M/4", func() *da.DisperseRequest { return tooBig }, da.CodeBadHeader, "K = 128, more than", nil},
			{"K not of length", func() *da.DisperseRequest { return kLength }, da.CodeBadHeader, "has K = 1", nil},
			{"rows of slots not held", func() *da.DisperseRequest { return nh }, da.CodeNotHeld, "does not hold", []da.SliceRef{nhRef}},
			{"rows missing", func() *da.DisperseRequest { return missing }, da.CodeMissingRows, "were not sent", []da.SliceRef{missRef}},
			{"commitments not points", func() *da.DisperseRequest { return badPoint }, da.CodeBadHeader, "commitment", nil},
			{"non-canonical element", func() *da.DisperseRequest { return nonCanon }, da.CodeBadRows, "non-canonical", []da.SliceRef{nonCanon.Slices[0].SliceRef}},
		}
		before := c.count(3, "row/")
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				ans := c.send(sg, da.ProtocolDisperse, tc.req())
				r, ok := ans.(*da.DisperseResponse)
				if !ok || r.OK {
					t.Fatalf("answer %#v", ans)
				}
				if r.Code != tc.code || !strings.Contains(r.Reason, tc.reason) {
					t.Fatalf("refused %s %q, want %s %q", r.Code, r.Reason, tc.code, tc.reason)
				}
				if tc.rows != nil && !slices.Equal(r.Rows, tc.rows) {
					t.Fatalf("named rows %v, want %v", r.Rows, tc.rows)
				}
			})
		}

		// Bytes that are not a request at all.
		frame := func(payload []byte) []byte {
			return append(binary.BigEndian.AppendUint32(nil, uint32(len(payload))), payload...)
		}
		raw := []struct {
			name string
			b    []byte
			code da.ErrorCode
		}{
			{"garbage", frame([]byte("hello, node")), da.CodeMalformed},
			{"truncated request", func() []byte { b, _ := da.EncodeMessage(good()); return frame(b[:len(b)-7]) }(), da.CodeMalformed},
			{"wrong message type", frame([]byte{1, byte(da.MsgBusy), 0, 0, 0, 1}), da.CodeMalformed},
			{"oversized length", binary.BigEndian.AppendUint32(nil, da.MaxDisperseRequestSize+1), da.CodeTooLarge},
			{"cut short", binary.BigEndian.AppendUint32(nil, 1000), da.CodeMalformed},
		}
		for _, tc := range raw {
			t.Run(tc.name, func(t *testing.T) {
				ans, err := c.sendRaw(sg, da.ProtocolDisperse, tc.b)
				if err != nil {
					t.Fatal(err)
				}
				if r, ok := ans.(*da.DisperseResponse); !ok || r.Code != tc.code {
					t.Fatalf("answer %#v, want %s", ans, tc.code)
				}
			})
		}
		t.Run("oversized row request", func(t *testing.T) {
			ans, err := c.sendRaw(sg, da.ProtocolRow, binary.BigEndian.AppendUint32(nil, 1<<20))
			if err != nil {
				t.Fatal(err)
			}
			if e, ok := ans.(*da.ErrorMessage); !ok || e.Code != da.CodeTooLarge {
				t.Fatalf("answer %#v", ans)
			}
		})
		t.Run("row not stored", func(t *testing.T) {
			ans := c.send(sg, da.ProtocolRow, &da.RowRequest{Key: da.BlobKey{7}, Row: 1})
			if e, ok := ans.(*da.ErrorMessage); !ok || e.Code != da.CodeNotFound {
				t.Fatalf("answer %#v", ans)
			}
		})
		if got := c.count(3, "row/"); got != before {
			t.Fatalf("bad input stored %d rows", got-before)
		}
	})

	t.Run("busy", func(t *testing.T) {
		release := sg.Occupy()
		ans := c.send(sg, da.ProtocolDisperse, c.requestFor(fresh, sg.Index()))
		release()
		if b, ok := ans.(*da.Busy); !ok || b.RetryAfterMillis == 0 {
			t.Fatalf("answer %#v", ans)
		}
	})

	t.Run("restart keeps identity and rows, updates addresses", func(t *testing.T) {
		id, addrs := c.nodes[5].PeerID(), c.nodes[5].Addrs()
		c.stop(5)
		nd, err := c.startNode(ctx, 5)
		if err != nil {
			t.Fatal(err)
		}
		c.nodes[5] = nd
		if nd.PeerID() != id {
			t.Fatal("the libp2p identity changed across a restart")
		}
		info, err := c.client.Signer(ctx, nd.PublicKey().Bytes())
		if err != nil || !slices.Equal(info.Addrs, nd.Addrs()) {
			t.Fatalf("registered %v, node has %v (before %v): %v", info.Addrs, nd.Addrs(), addrs, err)
		}
		ep, _ := c.client.CurrentEpoch(ctx)
		r := heldRowsOf(ep.Quorums[0], nd.Index(), blobs[0].Key, 1)
		ans := c.send(nd, da.ProtocolRow, &da.RowRequest{Key: blobs[0].Key, Row: r[0], WantHeader: true})
		rr, ok := ans.(*da.RowResponse)
		if !ok || !bytes.Equal(rr.Data, rowBytes(blobs[0].Rows[r[0]])) || rr.Header == nil || rr.Header.Key != blobs[0].Key {
			t.Fatalf("row after restart: %#v", ans)
		}
		// It still signs.
		if _, rep, err := c.disp.Disperse(ctx, encodeBlobs(t, 3, 777)); err != nil || len(rep.Failed()) != 0 {
			t.Fatalf("dispersal after restart: %v %v", err, rep.Failed())
		}
	})

	t.Run("registration", func(t *testing.T) {
		k := testKey(t, 50)
		home := t.TempDir()
		cfg := nodeConfig(t, home)
		if _, err := node.Start(ctx, cfg, k, node.WithClient(c.client)); !errors.Is(err, node.ErrNotRegistered) {
			t.Fatalf("unregistered without registrar: %v", err)
		}
		nd, err := node.Start(ctx, cfg, k, node.WithClient(c.client), node.WithRegistrar(c.registrar))
		if err != nil {
			t.Fatal(err)
		}
		defer nd.Close()
		info, err := c.client.Signer(ctx, k.PublicKey().Bytes())
		if err != nil || info.Index != 8 || info.Stake != cfg.Chain.Stake || !slices.Equal(info.Addrs, nd.Addrs()) {
			t.Fatalf("registered %+v: %v", info, err)
		}
		if !strings.HasSuffix(info.Addrs[0], "/p2p/"+nd.PeerID().String()) {
			t.Fatalf("address %q lacks the peer id", info.Addrs[0])
		}
	})
}

// Faults: a bad signer is excluded, a quarter of the nodes down is
// tolerated, more than a third is not.
func TestClusterFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("a second cluster")
	}
	c := newCluster(t, 8, map[int][]node.Option{0: {node.WithBadSignature()}})
	ctx := ctxT(t, 3*time.Minute)

	t.Run("bad signature excluded", func(t *testing.T) {
		cert, rep, err := c.disp.Disperse(ctx, encodeBlobs(t, 10, 3000, 150_000))
		if err != nil {
			t.Fatal(err)
		}
		r, _ := rep.Node(c.nodes[0].Index())
		if r.Outcome != dispersal.BadSignature || cert.Signers.Has(c.nodes[0].Index()) || cert.Signers.Count() != 7 {
			t.Fatalf("bad signer: %v; signers %v", r, cert.Signers.Indices())
		}
		if f := rep.Failed(); len(f) != 1 || f[0].Signer != c.nodes[0].Index() {
			t.Fatalf("failed %v", f)
		}
		c.submitCert(cert)
	})

	t.Run("a quarter stopped", func(t *testing.T) {
		c.stop(0)
		c.stop(1)
		cert, rep, err := c.disp.Disperse(ctx, encodeBlobs(t, 11, 40_000))
		if err != nil {
			t.Fatal(err)
		}
		if cert.Signers.Count() != 6 || cert.Signers.Has(0) || cert.Signers.Has(1) {
			t.Fatalf("signers %v", cert.Signers.Indices())
		}
		for _, i := range []uint32{0, 1} {
			if r, _ := rep.Node(i); r.Outcome != dispersal.Unreachable && r.Outcome != dispersal.TimedOut {
				t.Fatalf("stopped node: %v", r)
			}
		}
		c.submitCert(cert)
	})

	t.Run("over a third stopped", func(t *testing.T) {
		c.stop(2)
		blobs := encodeBlobs(t, 12, 9000, 130_000)
		cert, rep, err := c.disp.Disperse(ctx, blobs)
		if cert != nil || !errors.Is(err, dispersal.ErrInsufficientSignatures) {
			t.Fatalf("certificate %v, error %v", cert, err)
		}
		var se *dispersal.ShortError
		if !errors.As(err, &se) || len(se.Short) != 2 || len(se.Failed) != 3 {
			t.Fatalf("%v", err)
		}
		for _, b := range rep.Blobs {
			if b.OK || b.Signed != 160 || b.Slots != 256 || b.Need != 171 {
				t.Fatalf("blob %+v", b)
			}
		}
		msg := err.Error()
		for _, want := range []string{blobs[0].Key.String(), "160 of 256 slots signed, needs 171", "signer 2", "unreachable"} {
			if !strings.Contains(msg, want) {
				t.Fatalf("error does not say %q:\n%s", want, msg)
			}
		}
		// The 5 signatures that did come would be refused by the chain too.
		if _, err := c.client.CertificateForBlob(ctx, blobs[0].Key); !chain.IsNotFound(err) {
			t.Fatalf("a blob short of signatures is on chain: %v", err)
		}
	})
}

// fakeHeader is a consistent header (key of length and commitments) for a
// blob of K = k whose commitments are not curve points.
func fakeHeader(k uint32) da.BlobHeader {
	h := da.BlobHeader{Length: uint64(k) * encoder.BytesPerRow, Rows: k}
	for i := uint32(0); i < k; i++ {
		var cm da.Commitment
		cm[0], cm[1] = 0x81, byte(i) // compressed flag set, x not on the curve
		h.Commitments = append(h.Commitments, cm)
	}
	h.Key = encoder.BlobKey(int(h.Length), kzgComms(h.Commitments))
	return h
}

func kzgComms(cs []da.Commitment) []kzg.Commitment {
	out := make([]kzg.Commitment, len(cs))
	for i := range cs {
		out[i] = kzg.Commitment(cs[i])
	}
	return out
}

func heldRows(q da.Quorum, sg uint32, h da.BlobHeader) []uint32 {
	return heldRowsOf(q, sg, h.Key, h.Rows)
}

func heldRowsOf(q da.Quorum, sg uint32, key da.BlobKey, k uint32) []uint32 {
	set := map[uint32]bool{}
	for _, a := range q.BlobAssignments(key, k) {
		if a.Signer == sg {
			set[a.Row] = true
		}
	}
	var out []uint32
	for r := range set {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}
