package node

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"sort"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/zgda/zgda/chain"
	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/kzg"
	"github.com/zgda/zgda/storage"
)

// Storage layout of a DA node, by batch root (docs/spec.md §4.3):
//
//	row/   ‖ batch_root ‖ u32 n → dispersed row n (da.RowSize bytes), tagged with the epoch
//	hdr/   ‖ batch_root         → u64 epoch ‖ batch header (da.BatchHeader.MarshalBinary)
//	proofs/ ‖ batch_root ‖ u32 n → 128 × proof[48] of the row's cells, once a row is asked
//	                              for cellasks.RowAfter distinct cells (serve.go)
//	quota/ ‖ …                  → what a disperser was charged (dispersers.go)
var (
	prefixRow    = []byte("row/")
	prefixHeader = []byte("hdr/")
	prefixProofs = []byte("proofs/")
)

func rowKey(root da.Hash, n uint32) []byte {
	b := append(append(make([]byte, 0, len(prefixRow)+36), prefixRow...), root[:]...)
	return binary.BigEndian.AppendUint32(b, n)
}

func headerKey(root da.Hash) []byte {
	return append(append(make([]byte, 0, len(prefixHeader)+32), prefixHeader...), root[:]...)
}

func proofsKey(root da.Hash, n uint32) []byte {
	b := append(append(make([]byte, 0, len(prefixProofs)+36), prefixProofs...), root[:]...)
	return binary.BigEndian.AppendUint32(b, n)
}

// encodeHeader is the stored form of a batch header: the epoch it was
// stored for, then its wire form.
func encodeHeader(epoch uint64, h *da.BatchHeader) ([]byte, error) {
	raw, err := h.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return append(binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(raw)), epoch), raw...), nil
}

// decodeHeader reads a stored header back and checks it against its root.
func decodeHeader(root da.Hash, b []byte) (uint64, *da.BatchHeader, error) {
	if len(b) < 8 {
		return 0, nil, fmt.Errorf("stored header of batch %s: %d bytes", root, len(b))
	}
	h := new(da.BatchHeader)
	if err := h.UnmarshalBinary(b[8:]); err != nil {
		return 0, nil, fmt.Errorf("stored header of batch %s: %w", root, err)
	}
	if got := h.Root(); got != root {
		return 0, nil, fmt.Errorf("stored header of batch %s has root %s", root, got)
	}
	return binary.BigEndian.Uint64(b), h, nil
}

// busyRetry is what a busy node asks a client to wait.
const busyRetry = 200 * time.Millisecond

// handleDisperse serves one dispersal request (docs/spec.md §5). Only a
// registered disperser's streams are read at all: the peer's key is looked
// up before the first byte. Slow or idle streams must not keep honest ones
// out, so what a stream holds grows only with what it has sent: a peer may
// have Limits.MaxPerPeer dispersal streams open (more are answered Busy
// before any byte is read); the frame
// header must come within Limits.HeaderTimeout; the payload's memory is
// reserved as it arrives, under Limits.MaxInflightBytes; and a dispersal
// slot (Limits.MaxConcurrent) is taken only for decoding, verifying and
// storing a request that has arrived whole.
func (n *Node) handleDisperse(s network.Stream) {
	defer s.Close()
	start := time.Now()
	s.SetDeadline(start.Add(time.Duration(n.cfg.Limits.HeaderTimeout)))
	leave, ok := n.enterPeer(s.Conn().RemotePeer())
	if !ok {
		n.answer(s, "disperse", &da.Busy{RetryAfterMillis: uint32(busyRetry / time.Millisecond)})
		return
	}
	defer leave()
	from, err := disperserKey(s.Conn().RemotePublicKey())
	if err != nil {
		n.answer(s, "disperse", refuse(da.CodeUnregistered, nil, "%v", err))
		return
	}
	actx, cancel := context.WithTimeout(n.ctx, time.Duration(n.cfg.Limits.HeaderTimeout))
	resp := n.dispersers.authorize(actx, from)
	cancel()
	if resp != nil {
		n.answer(s, "disperse", resp)
		return
	}
	size, err := da.ReadFrameHeader(s, da.MaxDisperseRequestSize)
	s.SetDeadline(start.Add(time.Duration(n.cfg.Limits.RequestTimeout)))
	if err != nil {
		code := da.CodeMalformed
		switch {
		case errors.Is(err, da.ErrMessageTooLarge):
			code = da.CodeTooLarge
		case isTimeout(err):
			err = fmt.Errorf("no frame header within %v", time.Duration(n.cfg.Limits.HeaderTimeout))
		}
		n.answer(s, "disperse", refuse(code, nil, "%v", err))
		return
	}
	n.pending.Add(1)
	defer n.pending.Add(-1)
	buf, release, err := n.readPayload(s, size)
	defer release()
	switch {
	case errors.Is(err, errNoMemory):
		n.answer(s, "disperse", &da.Busy{RetryAfterMillis: uint32(busyRetry / time.Millisecond)})
		return
	case err != nil:
		n.answer(s, "disperse", refuse(da.CodeMalformed, nil, "request cut short: %v", err))
		return
	}
	select {
	case n.sem <- struct{}{}:
	default:
		n.answer(s, "disperse", &da.Busy{RetryAfterMillis: uint32(busyRetry / time.Millisecond)})
		return
	}
	defer func() { <-n.sem }()
	m, err := da.DecodeMessage(buf)
	if err != nil {
		code := da.CodeMalformed
		switch {
		case errors.Is(err, da.ErrMessageTooLarge):
			code = da.CodeTooLarge
		case errors.Is(err, da.ErrHeader):
			code = da.CodeBadHeader
		}
		n.answer(s, "disperse", refuse(code, nil, "%v", err))
		return
	}
	req, ok := m.(*da.DisperseRequest)
	if !ok {
		n.answer(s, "disperse", refuse(da.CodeMalformed, nil, "a %s on the dispersal protocol", m.Type()))
		return
	}
	if n.fault == faultSilent {
		<-n.ctx.Done()
		return
	}
	ctx, cancel := context.WithTimeout(n.ctx, time.Duration(n.cfg.Limits.RequestTimeout))
	defer cancel()
	n.answer(s, "disperse", n.Disperse(ctx, from, req))
}

// isTimeout reports a stream deadline (yamux's error is not
// os.ErrDeadlineExceeded, but a net.Error).
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// enterPeer counts a dispersal stream of p, or reports that p has
// Limits.MaxPerPeer open already.
func (n *Node) enterPeer(p peer.ID) (leave func(), ok bool) {
	n.pmu.Lock()
	defer n.pmu.Unlock()
	if n.peers[p] >= n.cfg.Limits.MaxPerPeer {
		return nil, false
	}
	n.peers[p]++
	return func() {
		n.pmu.Lock()
		defer n.pmu.Unlock()
		if n.peers[p]--; n.peers[p] == 0 {
			delete(n.peers, p)
		}
	}, true
}

// payloadChunk is the most a dispersal payload is read (and its memory
// reserved) ahead of what has arrived.
const payloadChunk = 1 << 20

// errNoMemory: Limits.MaxInflightBytes is taken.
var errNoMemory = errors.New("dispersal memory bound reached")

// readPayload reads a size-byte payload, reserving twice the buffer's
// capacity (the bytes and the parsed field elements) as it grows, so that
// a stream that sends slowly holds little. release gives the reservation
// back (it is never nil); the caller owns buf.
func (n *Node) readPayload(r io.Reader, size int) (buf []byte, release func(), err error) {
	var held int64
	release = func() { n.inflight.Add(-held) }
	for len(buf) < size {
		want := min(size-len(buf), payloadChunk)
		if cap(buf)-len(buf) < want {
			c := min(size, max(2*cap(buf), len(buf)+want))
			need := 2 * int64(c-cap(buf))
			if !n.reserve(need) {
				return nil, release, errNoMemory
			}
			held += need
			buf = slices.Grow(buf, c-len(buf))
		}
		if _, err := io.ReadFull(r, buf[len(buf):len(buf)+want]); err != nil {
			return nil, release, err
		}
		buf = buf[:len(buf)+want]
	}
	return buf, release, nil
}

// reserve takes need bytes of Limits.MaxInflightBytes, or reports that they
// are not free.
func (n *Node) reserve(need int64) bool {
	for {
		cur := n.inflight.Load()
		if cur+need > n.cfg.Limits.MaxInflightBytes {
			return false
		}
		if n.inflight.CompareAndSwap(cur, cur+need) {
			return true
		}
	}
}

func (n *Node) answer(s network.Stream, proto string, m da.Message) {
	result := "ok"
	switch a := m.(type) {
	case *da.Busy:
		result = "busy"
	case *da.DisperseResponse:
		if !a.OK {
			result = a.Code.String()
		}
	case *da.ErrorMessage:
		result = a.Code.String()
	}
	n.metrics.requests.WithLabelValues(proto, result).Inc()
	if err := da.WriteFrame(s, m); err != nil {
		n.log.Debug("writing an answer", "protocol", proto, "err", err)
		s.Reset()
	}
}

func refuse(code da.ErrorCode, rows []uint32, format string, args ...any) *da.DisperseResponse {
	reason := fmt.Sprintf(format, args...)
	if len(reason) > da.MaxReasonLen {
		reason = reason[:da.MaxReasonLen-3] + "…"
	}
	if len(rows) > da.MaxDispersedRows {
		rows = rows[:da.MaxDispersedRows]
	}
	return &da.DisperseResponse{Code: code, Reason: reason, Rows: rows}
}

// Disperse checks, verifies, stores and signs one dispersal request from
// disperser from (the work behind da.ProtocolDisperse, callable directly;
// docs/spec.md §4.3, §5). It answers with the node's signature over the
// batch, or a refusal that says why and names the dispersed rows at fault;
// nothing is stored and nothing is signed unless every check passed, the
// disperser's quota included. The request is only read.
func (n *Node) Disperse(ctx context.Context, from chain.DisperserKey, req *da.DisperseRequest) (resp *da.DisperseResponse) {
	if req.ChainID != n.chainID {
		return refuse(da.CodeWrongChain, nil, "chain %q, this node is on %q", req.ChainID, n.chainID)
	}
	info, resp := n.epochInfo(ctx, req.Epoch)
	if resp != nil {
		return resp
	}
	if int(req.Quorum) >= len(info.Quorums) {
		return refuse(da.CodeUnknownQuorum, nil, "epoch %d has %d quorums, no quorum %d", req.Epoch, len(info.Quorums), req.Quorum)
	}
	q := info.Quorums[req.Quorum]

	// The batch header: canonical, every key its blob header's hash, and a
	// batch that fits one quorum. (The wire decoder checked the first two;
	// a direct caller may not have.)
	hdr := &req.Batch
	if err := hdr.Check(); err != nil {
		return refuse(da.CodeBadHeader, nil, "%v", err)
	}
	nRows := hdr.DispersedRows()
	if nRows > len(q) {
		return refuse(da.CodeBadHeader, nil, "a batch of %d dispersed rows does not fit quorum %d of %d slots", nRows, req.Quorum, len(q))
	}
	root := hdr.Root()
	w, err := da.NewWindow(root, nRows, int(n.params.MinBatchSlots), len(q))
	if err != nil {
		return refuse(da.CodeInternal, nil, "the window of batch %s: %v", root, err)
	}

	// Rows: exactly the dispersed rows of the window slots this node holds,
	// each once, in ascending order (docs/spec.md §4.2).
	mine := q.RowsOf(w, n.index)
	if len(mine) == 0 {
		return refuse(da.CodeNotInQuorum, nil, "signer %d holds no slot of the window of batch %s in quorum %d of epoch %d", n.index, root, req.Quorum, req.Epoch)
	}
	var notHeld, missing []uint32
	i := 0
	for k, s := range req.Slices {
		if k > 0 && s.Row <= req.Slices[k-1].Row {
			return refuse(da.CodeMalformed, nil, "slice %d: row %d is not after row %d (ascending, no repeats)", k, s.Row, req.Slices[k-1].Row)
		}
		for i < len(mine) && mine[i] < s.Row {
			missing = append(missing, mine[i])
			i++
		}
		if i < len(mine) && mine[i] == s.Row {
			i++
		} else {
			notHeld = append(notHeld, s.Row)
		}
	}
	missing = append(missing, mine[i:]...)
	switch {
	case len(notHeld) > 0:
		return refuse(da.CodeNotHeld, notHeld, "%d rows for window slots signer %d does not hold in quorum %d of epoch %d", len(notHeld), n.index, req.Quorum, req.Epoch)
	case len(missing) > 0:
		return refuse(da.CodeMissingRows, missing, "%d of the %d rows of the window slots signer %d holds were not sent", len(missing), len(mine), n.index)
	}

	// The disperser's quota, before any verification work: D data rows of
	// RowSize bytes, once per batch (a batch stored already is a retry).
	charge := uint64(hdr.DataRows()) * da.RowSize
	stored, err := n.store.Has(ctx, headerKey(root))
	if err != nil {
		return refuse(da.CodeInternal, nil, "reading the store: %v", err)
	}
	if !stored {
		commit, refusal := n.dispersers.reserve(ctx, from, req.Epoch, charge)
		if refusal != nil {
			return refusal
		}
		defer func() { commit(resp.OK) }() // resp: what Disperse answers
	}

	// Canonical elements, and canonical packing of the data rows
	// (docs/spec.md §3.1).
	start := time.Now()
	rows, bad, why := parseRows(hdr, req.Slices)
	if len(bad) > 0 {
		return refuse(da.CodeBadRows, bad, "%d rows are not canonical (%s)", len(bad), why)
	}

	// Every row at once, by random linear combination against the data
	// commitments; bisection names the bad ones (docs/spec.md §4.3).
	badIdx, checks, err := n.kzg.VerifyBatchRows(encoder.KZGCommitments(hdr.Commitments()), hdr.MatrixRows(), rows)
	n.metrics.verify.Observe(time.Since(start).Seconds())
	n.metrics.checks.Add(float64(checks))
	n.lastChecks.Store(int64(checks))
	switch {
	case errors.Is(err, kzg.ErrInvalidPoint):
		return refuse(da.CodeBadHeader, nil, "verifying rows: %v", err)
	case err != nil:
		return refuse(da.CodeInternal, nil, "verifying rows: %v", err)
	case len(badIdx) > 0:
		for _, t := range badIdx {
			bad = append(bad, req.Slices[t].Row)
		}
		return refuse(da.CodeBadRows, bad, "%d of %d rows do not match their commitments", len(bad), len(rows))
	}

	// Store the header with the rows durably, then sign.
	var batch storage.Batch
	tag := storage.WithEpoch(req.Epoch)
	raw, err := encodeHeader(req.Epoch, hdr)
	if err != nil {
		return refuse(da.CodeBadHeader, nil, "%v", err)
	}
	batch.Put(headerKey(root), raw, tag)
	if !stored {
		batch.Put(quotaKey(req.Epoch, from, root), binary.BigEndian.AppendUint64(nil, charge), tag)
	}
	for _, sl := range req.Slices {
		batch.Put(rowKey(root, sl.Row), sl.Data, tag)
	}
	if err := n.store.Write(ctx, &batch); err != nil {
		n.log.Error("storing a batch", "root", root, "err", err)
		return refuse(da.CodeInternal, nil, "storing the rows failed: %v", err)
	}
	n.metrics.stored.Add(float64(len(req.Slices) * da.RowSize))
	n.metrics.rows.Add(float64(len(req.Slices)))

	msg := da.AttestationMessage(n.chainID, req.Epoch, req.Quorum, root)
	if n.fault == faultBadSignature {
		msg = append(msg, "not the attestation"...)
	}
	n.log.Debug("batch signed", "epoch", req.Epoch, "quorum", req.Quorum, "root", root, "blobs", len(hdr.Blobs),
		"rows", len(req.Slices), "checks", checks)
	return &da.DisperseResponse{OK: true, Signature: n.key.Sign(msg).Bytes()}
}

// parseRows turns the request's rows into field elements for
// kzg.VerifyBatchRows (extended row j of each dispersed row n) and checks
// that they are canonical: every element below the modulus and, for a data
// row, the packing of its blob (encoder.CheckCanonicalRow with the blob's
// length and the row's index in the blob). bad lists the rows that are
// not, why describes the first.
func parseRows(hdr *da.BatchHeader, sl []da.Slice) (rows []kzg.BatchRow, bad []uint32, why string) {
	d := hdr.DataRows()
	offsets := hdr.Offsets()
	elems := make([]fr.Element, len(sl)*kzg.ScalarsPerRow)
	rows = make([]kzg.BatchRow, len(sl))
	fail := func(row uint32, err error) {
		if bad == nil {
			why = fmt.Sprintf("row %d: %v", row, err)
		}
		bad = append(bad, row)
	}
	for t, s := range sl {
		row := elems[t*kzg.ScalarsPerRow : (t+1)*kzg.ScalarsPerRow : (t+1)*kzg.ScalarsPerRow]
		rows[t] = kzg.BatchRow{Index: da.ExtendedRow(int(s.Row), d), Row: row}
		if err := parseRow(s.Data, row); err != nil {
			fail(s.Row, err)
			continue
		}
		if int(s.Row) < d {
			// The blob of matrix row n: the last whose offset is ≤ n.
			b := sort.Search(len(offsets), func(i int) bool { return offsets[i] > int(s.Row) }) - 1
			if err := encoder.CheckCanonicalRow(row, int(hdr.Blobs[b].Length), int(s.Row)-offsets[b]); err != nil {
				fail(s.Row, fmt.Errorf("blob %d (%s): %w", b, hdr.Blobs[b].Key, err))
			}
		}
	}
	return rows, bad, why
}

// parseRow decodes RowSize bytes into 4096 canonical field elements.
func parseRow(b []byte, dst []fr.Element) error {
	if len(b) != len(dst)*kzg.BytesPerScalar {
		return fmt.Errorf("%d bytes, want %d", len(b), len(dst)*kzg.BytesPerScalar)
	}
	for j := range dst {
		e, err := kzg.ParseScalar(b[j*kzg.BytesPerScalar : (j+1)*kzg.BytesPerScalar])
		if err != nil {
			return fmt.Errorf("element %d: %w", j, err)
		}
		dst[j] = e
	}
	return nil
}

// epochInfo returns a started epoch, or the refusal for one the node cannot
// accept: unknown, not started, or older than the chain's certificate window.
func (n *Node) epochInfo(ctx context.Context, e uint64) (*chain.EpochInfo, *da.DisperseResponse) {
	cur := n.current.Load()
	if e+n.params.CertEpochWindow < cur {
		return nil, refuse(da.CodeUnknownEpoch, nil, "epoch %d is too old: the chain is at epoch %d and takes certificates up to %d epochs back", e, cur, n.params.CertEpochWindow)
	}
	n.mu.Lock()
	info, ok := n.epochs[e]
	n.mu.Unlock()
	if ok {
		return info, nil
	}
	info, err := n.client.Epoch(ctx, e)
	switch {
	case errors.Is(err, chain.ErrVerification):
		// Never sign for a quorum the node cannot prove (docs/spec.md §6).
		return nil, refuse(da.CodeInternal, nil, "epoch %d's quorums cannot be proven, so this node does not sign: %v", e, err)
	case chain.IsNotFound(err):
		return nil, refuse(da.CodeUnknownEpoch, nil, "epoch %d is not known to the chain (current epoch %d)", e, cur)
	case err != nil:
		return nil, refuse(da.CodeInternal, nil, "reading epoch %d from the chain: %v", e, err)
	case !info.Started:
		return nil, refuse(da.CodeUnknownEpoch, nil, "epoch %d has not started (current epoch %d)", e, cur)
	}
	n.mu.Lock()
	n.epochs[e] = info
	for old := range n.epochs { // keep the few recent ones
		if old+n.params.CertEpochWindow+2 < e {
			delete(n.epochs, old)
		}
	}
	n.mu.Unlock()
	return info, nil
}
