package node_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
	"github.com/libp2p/go-libp2p/core/network"

	"github.com/zgda/zgda/chain"
	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/dispersal"
	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/kzg"
	"github.com/zgda/zgda/signer"
	"github.com/zgda/zgda/signer/node"
)

// Eight DA nodes, one chain: a mixed batch is dispersed, certified, accepted
// on chain, and read back; then the nodes are fed bad input of every kind.
func TestCluster(t *testing.T) {
	c := newCluster(t, 8, nil)
	ctx := ctxT(t, 3*time.Minute)
	batch := encodeBatch(t, 1, 1000, da.BytesPerRow, 200_000) // R = 1, 1, 2: D = 4, N = 16, S = W = 256

	t.Run("disperse certify retrieve", func(t *testing.T) {
		cert, rep, err := c.disp.Disperse(ctx, batch)
		if err != nil {
			t.Fatalf("%v\n%+v", err, rep)
		}
		if len(rep.Failed()) != 0 || cert.Signers.Count() != 8 || !rep.Window.OK || rep.Window.Weight != rep.Window.Total || rep.Window.SignedSlots != 256 {
			t.Fatalf("failed nodes %v, %d signers, window %+v", rep.Failed(), cert.Signers.Count(), rep.Window)
		}
		if cert.BatchRoot != batch.Root || !slices.Equal(cert.Blobs, batch.Header.Entries()) || cert.DataRows() != 4 {
			t.Fatalf("certificate %+v", cert)
		}
		rec := c.submitCert(cert)
		if rec.Height < 1 {
			t.Fatalf("record %+v", rec)
		}
		// Every node stored the dispersed rows of its window slots, each
		// once, and the header; the disperser sent exactly those rows.
		w, q, _ := c.window(batch)
		held := 0
		for i, nd := range c.nodes {
			want := len(q.RowsOf(w, nd.Index()))
			held += want
			if got := c.count(i, "row/"); got != want {
				t.Fatalf("node %d stores %d rows, its window slots hold %d", i, got, want)
			}
			if got := c.count(i, "hdr/"); got != 1 {
				t.Fatalf("node %d stores %d headers", i, got)
			}
		}
		hdr, _ := batch.Header.MarshalBinary()
		if rep.RowBytesSent != int64(held)*da.RowSize || rep.HeaderBytesSent != 8*int64(len(hdr)) {
			t.Fatalf("sent %d row bytes and %d header bytes, want %d and %d", rep.RowBytesSent, rep.HeaderBytesSent, held*da.RowSize, 8*len(hdr))
		}

		// A fresh reader locates the blob and fetches rows, header and
		// commitments from the holders, each checked.
		d := c.newDispatcher(t)
		loc, err := d.Locate(ctx, batch.Header.Blobs[2].Key)
		if err != nil || loc.Root != batch.Root || loc.Index != 2 || loc.Offset != 2 || loc.Rows != 2 || loc.Height != rec.Height || loc.Window != w {
			t.Fatalf("location %+v: %v", loc, err)
		}
		for _, n := range []uint32{0, 3, 4, 9, 15} { // data and parity rows
			got, err := d.FetchRow(ctx, batch.Root, n)
			if err != nil {
				t.Fatalf("row %d: %v", n, err)
			}
			if !bytes.Equal(rowBytes(got), rowBytes(batch.Rows[n])) {
				t.Fatalf("row %d differs", n)
			}
		}
		h, err := c.newDispatcher(t).BatchHeader(ctx, batch.Root)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := h.MarshalBinary(); !bytes.Equal(got, hdr) {
			t.Fatal("the batch header from the nodes is not the disperser's")
		}
		comms, err := d.RowCommitments(ctx, batch.Root)
		if err != nil || !slices.Equal(comms, batch.Commitments) {
			t.Fatalf("row commitments: %v", err)
		}
		// Cells verify with their proofs against the row commitments.
		var cm []kzg.Commitment
		var idx []uint64
		var cells [][]fr.Element
		var proofs []kzg.Proof
		for _, rc := range [][2]int{{0, 127}, {5, 77}} { // a data row and a parity row
			cell, proof, err := d.FetchCell(ctx, batch.Root, uint32(rc[0]), uint16(rc[1]))
			if err != nil {
				t.Fatalf("cell %v: %v", rc, err)
			}
			cm = append(cm, batch.Commitments[rc[0]])
			idx = append(idx, uint64(rc[1]))
			cells = append(cells, cell)
			proofs = append(proofs, proof)
		}
		if err := kzg.Default().VerifyCells(cm, idx, cells, proofs); err != nil {
			t.Fatalf("cells do not verify: %v", err)
		}
		proofs[0], proofs[1] = proofs[1], proofs[0]
		if err := kzg.Default().VerifyCells(cm, idx, cells, proofs); err == nil {
			t.Fatal("swapped proofs verified")
		}
		// A first cell of a row is proved on its own and nothing is cached.
		cached, single := 0, 0
		for i, nd := range c.nodes {
			cached += c.count(i, "proofs/")
			single += nd.CellAnswers("single")
		}
		if cached != 0 || single != 2 {
			t.Fatalf("%d rows of cells cached and %d cells proved singly after 2 first requests, want 0 and 2", cached, single)
		}
		// Unknown blobs and batches are not found; rows past N are bad input.
		if _, err := d.Locate(ctx, da.BlobKey{1}); !errors.Is(err, dispersal.ErrNotFound) {
			t.Fatalf("unknown blob: %v", err)
		}
		if _, err := d.FetchRow(ctx, da.Hash{1}, 0); !errors.Is(err, dispersal.ErrNotFound) {
			t.Fatalf("unknown batch: %v", err)
		}
		if _, err := d.FetchRow(ctx, batch.Root, 16); !errors.Is(err, dispersal.ErrBadInput) {
			t.Fatalf("row 16 of 16: %v", err)
		}
	})

	t.Run("cells singly then by row", func(t *testing.T) {
		cellsSinglyThenByRow(t, c, batch)
	})

	t.Run("lying holders skipped and named", func(t *testing.T) {
		w, q, _ := c.window(batch)
		var row uint32
		var holders []uint32
		for n := batch.D; n < batch.N && len(holders) < 2; n++ { // a parity row with several holders
			row, holders = uint32(n), q.Holders(w, n)
		}
		if len(holders) < 2 {
			t.Fatal("no parity row has two holders")
		}
		byIndex := map[uint32]*node.Node{}
		for _, nd := range c.nodes {
			byIndex[nd.Index()] = nd
		}
		defer func() {
			for _, h := range holders {
				byIndex[h].ServeRows()
			}
		}()
		// All holders but one lie: the row still comes back right.
		for _, h := range holders[1:] {
			lieAboutRows(t, byIndex[h])
		}
		got, err := c.newDispatcher(t).FetchRow(ctx, batch.Root, row)
		if err != nil || !bytes.Equal(rowBytes(got), rowBytes(batch.Rows[row])) {
			t.Fatalf("row %d with %d of %d holders lying: %v", row, len(holders)-1, len(holders), err)
		}
		// All of them lie: every one is named.
		lieAboutRows(t, byIndex[holders[0]])
		_, err = c.newDispatcher(t).FetchRow(ctx, batch.Root, row)
		if !errors.Is(err, dispersal.ErrUnavailable) {
			t.Fatalf("every holder lying: %v", err)
		}
		for _, h := range holders {
			if want := fmt.Sprintf("signer %d: bad row", h); !strings.Contains(err.Error(), want) {
				t.Fatalf("error does not say %q: %v", want, err)
			}
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

	// R = 1, 3, 12: D = 16, N = 64, so that a node holds some rows of the
	// window and not others.
	fresh := encodeBatch(t, 2, 5000, 300_000, 12*da.BytesPerRow-7)
	const si = 3
	sg := c.nodes[si]
	refused := func(t *testing.T, ans da.Message, code da.ErrorCode, reason string, rows []uint32) {
		t.Helper()
		r, ok := ans.(*da.DisperseResponse)
		if !ok || r.OK {
			t.Fatalf("answer %#v", ans)
		}
		if r.Code != code || !strings.Contains(r.Reason, reason) {
			t.Fatalf("refused %s %q, want %s %q", r.Code, r.Reason, code, reason)
		}
		if rows != nil && !slices.Equal(r.Rows, rows) {
			t.Fatalf("named rows %v, want %v", r.Rows, rows)
		}
	}
	storesNothing := func(t *testing.T, f func()) {
		t.Helper()
		rows, hdrs := c.count(si, "row/"), c.count(si, "hdr/")
		f()
		if r, h := c.count(si, "row/"), c.count(si, "hdr/"); r != rows || h != hdrs {
			t.Fatalf("a refused request stored %d rows and %d headers", r-rows, h-hdrs)
		}
	}

	t.Run("missing rows refused, nothing stored", func(t *testing.T) {
		req := c.requestFor(fresh, sg.Index())
		if len(req.Slices) < 3 {
			t.Fatalf("node %d holds %d rows", si, len(req.Slices))
		}
		gone := []uint32{req.Slices[0].Row, req.Slices[2].Row}
		req.Slices = slices.Delete(req.Slices, 2, 3)
		req.Slices = slices.Delete(req.Slices, 0, 1)
		storesNothing(t, func() {
			refused(t, c.send(sg, da.ProtocolDisperse, req), da.CodeMissingRows, "were not sent", gone)
		})
	})

	t.Run("rows of slots not held refused", func(t *testing.T) {
		req := c.requestFor(fresh, sg.Index())
		held := map[uint32]bool{}
		for _, s := range req.Slices {
			held[s.Row] = true
		}
		var extra uint32
		for extra = 0; held[extra]; extra++ {
		}
		if int(extra) >= fresh.N {
			t.Fatalf("node %d holds every row", si)
		}
		req.Slices = append(req.Slices, da.Slice{Row: extra, Data: rowBytes(fresh.Rows[extra])})
		slices.SortFunc(req.Slices, func(a, b da.Slice) int { return int(a.Row) - int(b.Row) })
		storesNothing(t, func() {
			refused(t, c.send(sg, da.ProtocolDisperse, req), da.CodeNotHeld, "does not hold", []uint32{extra})
		})
	})

	t.Run("corrupted row refused and named", func(t *testing.T) {
		req := c.requestFor(fresh, sg.Index())
		bad := len(req.Slices) - 1 // a parity row: any canonical change is a bad row, not bad packing
		if int(req.Slices[bad].Row) < fresh.D {
			t.Fatalf("node %d holds no parity row", si)
		}
		orig := req.Slices[bad].Data
		data := bytes.Clone(orig)
		data[100*32+31] ^= 1 // still a canonical element
		req.Slices[bad].Data = data
		storesNothing(t, func() {
			refused(t, c.send(sg, da.ProtocolDisperse, req), da.CodeBadRows, "do not match their commitments", []uint32{req.Slices[bad].Row})
		})
		// The same request, intact, is signed, and stored with its header.
		before := c.count(si, "row/")
		req.Slices[bad].Data = orig
		r, ok := c.send(sg, da.ProtocolDisperse, req).(*da.DisperseResponse)
		if !ok || !r.OK {
			t.Fatalf("intact request: %#v", r)
		}
		s, err := signer.ParseSignature(r.Signature[:])
		if err != nil || !sg.PublicKey().Verify(da.AttestationMessage(testChainID, req.Epoch, 0, fresh.Root), s) {
			t.Fatalf("signature over the batch does not verify: %v", err)
		}
		if got := c.count(si, "row/"); got != before+len(req.Slices) || c.count(si, "hdr/") != 2 {
			t.Fatalf("stored %d rows and %d headers", got-before, c.count(si, "hdr/"))
		}
		if sg.LastVerifyChecks() != 1 {
			t.Fatalf("good rows took %d checks, want 1", sg.LastVerifyChecks())
		}
	})

	t.Run("bad input", func(t *testing.T) {
		other := encodeBatch(t, 4, 7000, 2*da.BytesPerRow) // R = 1, 2: never signed by node 3
		good := func() *da.DisperseRequest { return c.requestFor(other, sg.Index()) }
		// A header whose keys hash right but whose commitments are not curve
		// points; the rows (zero) are canonical.
		fake := fakeHeader(2, 3)
		fakeReq := func() *da.DisperseRequest {
			_, q, epoch := c.window(other)
			d := fake.DataRows()
			w, err := da.NewWindow(fake.Root(), 4*d, int(c.params.MinBatchSlots), len(q))
			if err != nil {
				t.Fatal(err)
			}
			req := &da.DisperseRequest{ChainID: testChainID, Epoch: epoch, Batch: fake}
			for _, n := range q.RowsOf(w, sg.Index()) {
				req.Slices = append(req.Slices, da.Slice{Row: n, Data: make([]byte, da.RowSize)})
			}
			return req
		}
		nonCanon := good()
		nonCanon.Slices[0].Data = bytes.Repeat([]byte{0xff}, da.RowSize)
		packing := good()
		packRow := -1
		for i, s := range packing.Slices {
			if int(s.Row) < other.D { // a data row: the top byte of every element must be zero
				data := bytes.Clone(s.Data)
				data[7*32] = 1
				packing.Slices[i].Data, packRow = data, int(s.Row)
				break
			}
		}
		if packRow < 0 {
			t.Fatalf("node %d holds no data row", si)
		}

		cases := []struct {
			name   string
			req    func() *da.DisperseRequest
			code   da.ErrorCode
			reason string
			rows   []uint32
		}{
			{"wrong chain", func() *da.DisperseRequest { r := good(); r.ChainID = "other"; return r }, da.CodeWrongChain, `chain "other"`, nil},
			{"future epoch", func() *da.DisperseRequest { r := good(); r.Epoch = 99; return r }, da.CodeUnknownEpoch, "epoch 99 is not known", nil},
			{"next epoch not started", func() *da.DisperseRequest { r := good(); r.Epoch = 1; return r }, da.CodeUnknownEpoch, "epoch 1 has not started", nil},
			{"unknown quorum", func() *da.DisperseRequest { r := good(); r.Quorum = 3; return r }, da.CodeUnknownQuorum, "no quorum 3", nil},
			{"commitments not points", fakeReq, da.CodeBadHeader, "commitment", nil},
			{"non-canonical element", func() *da.DisperseRequest { return nonCanon }, da.CodeBadRows, "not canonical", []uint32{nonCanon.Slices[0].Row}},
			{"data row not canonically packed", func() *da.DisperseRequest { return packing }, da.CodeBadRows, "not canonical", []uint32{uint32(packRow)}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				storesNothing(t, func() { refused(t, c.send(sg, da.ProtocolDisperse, tc.req()), tc.code, tc.reason, tc.rows) })
			})
		}

		// Frames that are not a valid request at all.
		frame := func(payload []byte) []byte {
			return append(binary.BigEndian.AppendUint32(nil, uint32(len(payload))), payload...)
		}
		encoded := func(r *da.DisperseRequest) []byte {
			b, err := da.EncodeMessage(r)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		// The encoder refuses a header that does not hash to its key, so
		// craft one: change a byte of the first commitment.
		wrongKey := func() []byte {
			b := encoded(good())
			at := 2 + 1 + len(testChainID) + 8 + 4 + 2 + 32 + 8 + 4 + 20
			b[at] ^= 1
			return frame(b)
		}
		// Blob 0 (R = 1) claims 200,000 bytes, which take R = 2.
		wrongR := func() []byte {
			b := encoded(good())
			binary.BigEndian.PutUint64(b[2+1+len(testChainID)+8+4+2+32:], 200_000)
			return frame(b)
		}
		// A header of 257 blobs, with room for all of them.
		tooManyBlobs := func() []byte {
			b := []byte{da.WireVersion, byte(da.MsgDisperseRequest), byte(len(testChainID))}
			b = append(b, testChainID...)
			b = binary.BigEndian.AppendUint64(b, 0)
			b = binary.BigEndian.AppendUint32(b, 0)
			b = binary.BigEndian.AppendUint16(b, da.MaxBatchBlobs+1)
			return frame(append(b, make([]byte, (da.MaxBatchBlobs+1)*(32+12+da.CommitmentSize)+4)...))
		}
		raw := []struct {
			name   string
			b      []byte
			codes  []da.ErrorCode
			reason string
		}{
			{"garbage", frame([]byte("hello, node")), []da.ErrorCode{da.CodeMalformed}, ""},
			{"truncated request", func() []byte { b := encoded(good()); return frame(b[:len(b)-7]) }(), []da.ErrorCode{da.CodeMalformed}, ""},
			{"wrong message type", frame([]byte{da.WireVersion, byte(da.MsgBusy), 0, 0, 0, 1}), []da.ErrorCode{da.CodeMalformed}, ""},
			{"header not of its keys", wrongKey(), []da.ErrorCode{da.CodeBadHeader}, "hashes to"},
			{"R not of its length", wrongR(), []da.ErrorCode{da.CodeBadHeader}, "1 rows for 200000 bytes"},
			{"header of too many blobs", tooManyBlobs(), []da.ErrorCode{da.CodeMalformed}, "257 blobs"},
			{"oversized length", binary.BigEndian.AppendUint32(nil, da.MaxDisperseRequestSize+1), []da.ErrorCode{da.CodeTooLarge}, ""},
			{"cut short", binary.BigEndian.AppendUint32(nil, 1000), []da.ErrorCode{da.CodeMalformed}, ""},
		}
		for _, tc := range raw {
			t.Run(tc.name, func(t *testing.T) {
				storesNothing(t, func() {
					ans, err := c.sendRaw(sg, da.ProtocolDisperse, tc.b)
					if err != nil {
						t.Fatal(err)
					}
					r, ok := ans.(*da.DisperseResponse)
					if !ok || !slices.Contains(tc.codes, r.Code) || !strings.Contains(r.Reason, tc.reason) {
						t.Fatalf("answer %#v, want %v saying %q", ans, tc.codes, tc.reason)
					}
				})
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
			ans := c.send(sg, da.ProtocolRow, &da.RowRequest{Root: da.Hash{7}, Row: 1})
			if e, ok := ans.(*da.ErrorMessage); !ok || e.Code != da.CodeNotFound {
				t.Fatalf("answer %#v", ans)
			}
		})
	})

	t.Run("busy", func(t *testing.T) {
		release := sg.Occupy()
		ans := c.send(sg, da.ProtocolDisperse, c.requestFor(fresh, sg.Index()))
		release()
		if b, ok := ans.(*da.Busy); !ok || b.RetryAfterMillis == 0 {
			t.Fatalf("answer %#v", ans)
		}
	})

	t.Run("restart keeps identity, rows and header, updates addresses", func(t *testing.T) {
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
		w, q, _ := c.window(batch)
		r := q.RowsOf(w, nd.Index())[0]
		ans := c.send(nd, da.ProtocolRow, &da.RowRequest{Root: batch.Root, Row: r, WantHeader: true})
		rr, ok := ans.(*da.RowResponse)
		if !ok || !bytes.Equal(rr.Data, rowBytes(batch.Rows[r])) || rr.Header == nil || rr.Header.Root() != batch.Root {
			t.Fatalf("row after restart: %#v", ans)
		}
		// It still signs.
		if _, rep, err := c.disp.Disperse(ctx, encodeBatch(t, 3, 777)); err != nil || len(rep.Failed()) != 0 {
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

// One node holding every slot is sent the 256 dispersed rows of a batch
// (D = 64), one of them bad: it names exactly that row, after O(log n)
// random-linear-combination checks, and stores nothing.
func TestBadRowNamedByBisection(t *testing.T) {
	c := newCluster(t, 1, nil)
	// Only the first row of the blob is random, so that committing the
	// other 63 is quick; every parity row still mixes it in.
	blob := make([]byte, 64*da.BytesPerRow)
	rng := rand.New(rand.NewPCG(5, 5))
	for i := range da.BytesPerRow {
		blob[i] = byte(rng.Uint32())
	}
	b := encodeBlobs(t, blob)
	sg := c.nodes[0]
	req := c.requestFor(b, sg.Index())
	if len(req.Slices) != 256 {
		t.Fatalf("the node holds %d rows, want 256", len(req.Slices))
	}
	const bad = 200 // a parity row
	orig := req.Slices[bad].Data
	data := bytes.Clone(orig)
	data[3000*32+31] ^= 1
	req.Slices[bad].Data = data
	ans := c.send(sg, da.ProtocolDisperse, req)
	r, ok := ans.(*da.DisperseResponse)
	if !ok || r.OK || r.Code != da.CodeBadRows || !slices.Equal(r.Rows, []uint32{bad}) {
		t.Fatalf("answer %#v, want bad-rows naming row %d", ans, bad)
	}
	if checks, limit := sg.LastVerifyChecks(), 1+8; checks != limit { // the all-good check, then one per halving of 256
		t.Fatalf("%d checks for one bad row of 256, want %d", checks, limit)
	}
	if c.count(0, "row/") != 0 || c.count(0, "hdr/") != 0 {
		t.Fatal("a refused request stored something")
	}
	req.Slices[bad].Data = orig
	if r, ok := c.send(sg, da.ProtocolDisperse, req).(*da.DisperseResponse); !ok || !r.OK {
		t.Fatalf("intact request: %#v", r)
	}
	if sg.LastVerifyChecks() != 1 || c.count(0, "row/") != 256 || c.count(0, "hdr/") != 1 {
		t.Fatalf("intact request: %d checks, %d rows stored", sg.LastVerifyChecks(), c.count(0, "row/"))
	}
}

// Faults: a bad signer is excluded, a quarter of the nodes down is
// tolerated, half of them is not.
func TestClusterFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("a second cluster")
	}
	c := newCluster(t, 8, map[int][]node.Option{0: {node.WithBadSignature()}})
	ctx := ctxT(t, 3*time.Minute)

	t.Run("bad signature excluded", func(t *testing.T) {
		cert, rep, err := c.disp.Disperse(ctx, encodeBatch(t, 10, 3000, 150_000))
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
		cert, rep, err := c.disp.Disperse(ctx, encodeBatch(t, 11, 40_000))
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

	t.Run("half stopped", func(t *testing.T) {
		c.stop(2)
		c.stop(3)
		b := encodeBatch(t, 12, 9000, 130_000)
		cert, rep, err := c.disp.Disperse(ctx, b)
		if cert != nil || !errors.Is(err, dispersal.ErrInsufficientSignatures) {
			t.Fatalf("certificate %v, error %v", cert, err)
		}
		var se *dispersal.ShortError
		if !errors.As(err, &se) || len(se.Failed) != 4 || se.Root != b.Root {
			t.Fatalf("%v", err)
		}
		w, q, _ := c.window(b)
		got, total := q.SignedWeight(w, func(s uint32) bool { return s >= 4 })
		if rep.Window.OK || rep.Window.Weight != got || rep.Window.Total != total || 3*got >= 2*total || rep.Window.Need != (2*total+2)/3 {
			t.Fatalf("window %+v, want weight %d of %d", rep.Window, got, total)
		}
		msg := err.Error()
		for _, want := range []string{b.Root.String(), fmt.Sprintf("signed weight %d of %d", got, total), "signer 2", "unreachable"} {
			if !strings.Contains(msg, want) {
				t.Fatalf("error does not say %q:\n%s", want, msg)
			}
		}
		// The signatures that did come would be refused by the chain too:
		// nothing is recorded.
		if _, err := c.client.Certificate(ctx, b.Root); !chain.IsNotFound(err) {
			t.Fatalf("a batch short of signatures is on chain: %v", err)
		}
	})
}

// fakeHeader is a header whose blob keys hash right (length, R and
// commitments) for blobs of the given R but whose commitments are not
// curve points.
func fakeHeader(rs ...uint32) da.BatchHeader {
	var h da.BatchHeader
	for b, r := range rs {
		bh := da.BlobHeader{Length: uint64(r) * da.BytesPerRow, Rows: r}
		for i := uint32(0); i < r; i++ {
			var cm da.Commitment
			cm[0], cm[1], cm[2] = 0x81, byte(b), byte(i) // compressed flag set, x not on the curve
			bh.Commitments = append(bh.Commitments, cm)
		}
		bh.Key = da.ComputeBlobKey(bh.Length, bh.Commitments)
		h.Blobs = append(h.Blobs, bh)
	}
	return h
}

// lieAboutRows makes nd serve its stored rows with one element changed (a
// canonical element still), with the right header.
func lieAboutRows(t *testing.T, nd *node.Node) {
	nd.Host().SetStreamHandler(da.ProtocolRow, func(s network.Stream) {
		defer s.Close()
		m, err := da.ReadMessage(s, da.MaxQuerySize)
		if err != nil {
			return
		}
		req, ok := m.(*da.RowRequest)
		if !ok {
			return
		}
		resp, err := nd.Row(context.Background(), req)
		if err != nil {
			t.Errorf("lying node: %v", err)
			return
		}
		data := bytes.Clone(resp.Data)
		data[17*32+31] ^= 1
		resp.Data = data
		da.WriteFrame(s, resp)
	})
}

// cellsSinglyThenByRow asks one node for distinct cells of a row it holds:
// the first node.RowCellsAfter−1 are proved singly and not cached, the next
// computes and caches the whole row, later ones come from the cache; every
// answer verifies against the row commitment and repeated cells are the
// same bytes whatever the path.
func cellsSinglyThenByRow(t *testing.T, c *cluster, batch *encoder.Batch) {
	ctx := ctxT(t, time.Minute)
	w, q, _ := c.window(batch)
	var nd *node.Node
	var ni int
	var row uint32
	for i, x := range c.nodes {
		for _, r := range q.RowsOf(w, x.Index()) {
			if r != 0 && r != 5 && c.count(i, "proofs/") == 0 { // rows the first subtest did not ask
				nd, ni, row = x, i, r
				break
			}
		}
		if nd != nil {
			break
		}
	}
	if nd == nil {
		t.Fatal("no node holds a fresh row")
	}
	single0, row0, cached0 := nd.CellAnswers("single"), nd.CellAnswers("row"), nd.CellAnswers("cached")
	var idx []uint64
	var cells [][]fr.Element
	var proofs []kzg.Proof
	first := map[uint16]*da.CellResponse{}
	ask := func(cell uint16) *da.CellResponse {
		t.Helper()
		resp, err := nd.Cell(ctx, &da.CellRequest{Root: batch.Root, Row: row, Cell: cell})
		if err != nil {
			t.Fatalf("cell %d of row %d: %v", cell, row, err)
		}
		elems, err := kzg.ParseCell(resp.Data)
		if err != nil {
			t.Fatal(err)
		}
		idx, cells, proofs = append(idx, uint64(cell)), append(cells, elems), append(proofs, kzg.Proof(resp.Proof))
		if f := first[cell]; f == nil {
			first[cell] = resp
		} else if !bytes.Equal(f.Data, resp.Data) || f.Proof != resp.Proof {
			t.Fatalf("cell %d answered differently the second time", cell)
		}
		return resp
	}
	proofs0 := nd.CellAnswers("proofs")
	check := func(single, byRow, cached, rowsCached int) {
		t.Helper()
		got := [4]int{nd.CellAnswers("single") - single0, nd.CellAnswers("row") - row0, nd.CellAnswers("cached") - cached0, c.count(ni, "proofs/")}
		if want := [4]int{single, byRow, cached, rowsCached}; got != want {
			t.Fatalf("single, row, cached answers and rows with stored proofs %v, want %v", got, want)
		}
	}
	ask(0)
	check(1, 0, 0, 0)
	ask(0) // a repeat is not a new cell
	check(2, 0, 0, 0)
	for k := 1; k < node.RowCellsAfter-1; k++ {
		ask(uint16(k * 17))
	}
	ask(127)
	check(node.RowCellsAfter, 1, 0, 1) // the RowCellsAfter-th distinct cell (127) computed the row
	ask(127)
	ask(0)
	ask(64)
	check(node.RowCellsAfter, 1, 3, 1)
	// With the memory cache gone (a restart), the row is extended again and
	// its stored proofs used: no FK20 run, the same bytes.
	nd.DropCellCache()
	ask(127)
	ask(5)
	check(node.RowCellsAfter, 1, 4, 1)
	if p := nd.CellAnswers("proofs") - proofs0; p != 1 {
		t.Fatalf("%d answers from stored proofs, want 1", p)
	}
	cm := make([]kzg.Commitment, len(idx))
	for i := range cm {
		cm[i] = batch.Commitments[row]
	}
	if err := kzg.Default().VerifyCells(cm, idx, cells, proofs); err != nil {
		t.Fatalf("cells of row %d do not verify: %v", row, err)
	}
}
