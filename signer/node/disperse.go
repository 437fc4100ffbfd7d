package node

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
	"github.com/libp2p/go-libp2p/core/network"

	"github.com/zgda/zgda/chain"
	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/kzg"
	"github.com/zgda/zgda/storage"
)

// Storage layout of a DA node:
//
//	row/   ‖ blob_key ‖ u32 row → the row (da.RowSize bytes), tagged with the epoch
//	hdr/   ‖ blob_key           → u64 epoch ‖ u64 L ‖ u32 K ‖ K × commitment
//	cells/ ‖ blob_key ‖ u32 row → 128 × (cell[2048] ‖ proof[48]), computed on first request
var (
	prefixRow    = []byte("row/")
	prefixHeader = []byte("hdr/")
	prefixCells  = []byte("cells/")
)

func rowKey(k da.BlobKey, row uint32) []byte {
	b := append(append(make([]byte, 0, len(prefixRow)+36), prefixRow...), k[:]...)
	return binary.BigEndian.AppendUint32(b, row)
}

func headerKey(k da.BlobKey) []byte {
	return append(append(make([]byte, 0, len(prefixHeader)+32), prefixHeader...), k[:]...)
}

func cellsKey(k da.BlobKey, row uint32) []byte {
	b := append(append(make([]byte, 0, len(prefixCells)+36), prefixCells...), k[:]...)
	return binary.BigEndian.AppendUint32(b, row)
}

func encodeHeader(epoch uint64, h *da.BlobHeader) []byte {
	b := make([]byte, 0, 20+len(h.Commitments)*da.CommitmentSize)
	b = binary.BigEndian.AppendUint64(b, epoch)
	b = binary.BigEndian.AppendUint64(b, h.Length)
	b = binary.BigEndian.AppendUint32(b, h.Rows)
	for _, c := range h.Commitments {
		b = append(b, c[:]...)
	}
	return b
}

func decodeHeader(key da.BlobKey, b []byte) (uint64, *da.BlobHeader, error) {
	if len(b) < 20 {
		return 0, nil, fmt.Errorf("stored header of %s: %d bytes", key, len(b))
	}
	h := &da.BlobHeader{Key: key, Length: binary.BigEndian.Uint64(b[8:]), Rows: binary.BigEndian.Uint32(b[16:])}
	if uint64(len(b)) != 20+uint64(h.Rows)*da.CommitmentSize {
		return 0, nil, fmt.Errorf("stored header of %s: %d bytes for K = %d", key, len(b), h.Rows)
	}
	h.Commitments = make([]da.Commitment, h.Rows)
	for i := range h.Commitments {
		copy(h.Commitments[i][:], b[20+i*da.CommitmentSize:])
	}
	return binary.BigEndian.Uint64(b), h, nil
}

// busyRetry is what a busy node asks a client to wait.
const busyRetry = 200 * time.Millisecond

// handleDisperse serves one dispersal request. The frame's length is checked
// against the limit and the node's bounds before the payload is read, so an
// oversized or untimely request costs four bytes of memory.
func (n *Node) handleDisperse(s network.Stream) {
	defer s.Close()
	s.SetDeadline(time.Now().Add(time.Duration(n.cfg.Limits.RequestTimeout)))
	size, err := da.ReadFrameHeader(s, da.MaxDisperseRequestSize)
	if err != nil {
		code := da.CodeMalformed
		if errors.Is(err, da.ErrMessageTooLarge) {
			code = da.CodeTooLarge
		}
		n.answer(s, "disperse", refuse(code, nil, "%v", err))
		return
	}
	release, ok := n.acquire(int64(size))
	if !ok {
		n.answer(s, "disperse", &da.Busy{RetryAfterMillis: uint32(busyRetry / time.Millisecond)})
		return
	}
	defer release()
	buf := make([]byte, size)
	if _, err := io.ReadFull(s, buf); err != nil {
		n.answer(s, "disperse", refuse(da.CodeMalformed, nil, "request cut short: %v", err))
		return
	}
	m, err := da.DecodeMessage(buf)
	if err != nil {
		n.answer(s, "disperse", refuse(da.CodeMalformed, nil, "%v", err))
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
	n.answer(s, "disperse", n.Disperse(ctx, req))
}

// acquire reserves a dispersal slot and 2·size bytes (the bytes and the
// parsed field elements), or reports that the node is busy.
func (n *Node) acquire(size int64) (release func(), ok bool) {
	select {
	case n.sem <- struct{}{}:
	default:
		return nil, false
	}
	need := 2 * size
	for {
		cur := n.inflight.Load()
		if cur+need > n.cfg.Limits.MaxInflightBytes {
			<-n.sem
			return nil, false
		}
		if n.inflight.CompareAndSwap(cur, cur+need) {
			break
		}
	}
	return func() {
		n.inflight.Add(-need)
		<-n.sem
	}, true
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

func refuse(code da.ErrorCode, rows []da.SliceRef, format string, args ...any) *da.DisperseResponse {
	reason := fmt.Sprintf(format, args...)
	if len(reason) > da.MaxReasonLen {
		reason = reason[:da.MaxReasonLen-3] + "…"
	}
	if len(rows) > da.MaxSliceRefs {
		rows = rows[:da.MaxSliceRefs]
	}
	return &da.DisperseResponse{Code: code, Reason: reason, Rows: rows}
}

// Disperse checks, verifies, stores and signs one dispersal request (the
// work behind da.ProtocolDisperse, callable directly). It answers with the
// node's signature over the batch, or a refusal that says why and names the
// rows at fault; nothing is stored unless every check passed.
// The request's row bytes are only read.
func (n *Node) Disperse(ctx context.Context, req *da.DisperseRequest) *da.DisperseResponse {
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

	// Headers: the key names the header, K agrees with the length and fits
	// the quorum.
	maxK := n.params.MaxBlobRows()
	for i := range req.Headers {
		h := &req.Headers[i]
		p, err := encoder.ParamsFor(int(h.Length))
		if err != nil {
			return refuse(da.CodeBadHeader, nil, "blob %d (%s): length %d: %v", i, h.Key, h.Length, err)
		}
		if uint32(p.K) != h.Rows {
			return refuse(da.CodeBadHeader, nil, "blob %d (%s): K = %d, but a blob of %d bytes has K = %d", i, h.Key, h.Rows, h.Length, p.K)
		}
		if h.Rows > maxK {
			return refuse(da.CodeBadHeader, nil, "blob %d (%s): K = %d, more than the quorum size %d allows (%d)", i, h.Key, h.Rows, n.params.QuorumSize, maxK)
		}
		if key := encoder.BlobKey(int(h.Length), kzgCommitments(h.Commitments)); key != h.Key {
			return refuse(da.CodeBadHeader, nil, "blob %d: key %s is not the key %s of its length and commitments", i, h.Key, key)
		}
	}

	// Rows: exactly one for each distinct row of the slots this node holds.
	mine := q.SlotsOf(n.index)
	var notHeld, missing []da.SliceRef
	held := 0
	next := 0 // position in req.Slices, which are in ascending (blob, row) order
	for b := range req.Headers {
		want := heldRows(q, mine, req.Headers[b].Key, req.Headers[b].Rows)
		held += len(want)
		for next < len(req.Slices) && int(req.Slices[next].Blob) == b {
			r := req.Slices[next].Row
			if want[r] {
				delete(want, r)
			} else {
				notHeld = append(notHeld, req.Slices[next].SliceRef)
			}
			next++
		}
		for _, r := range sortedRows(want) {
			missing = append(missing, da.SliceRef{Blob: uint16(b), Row: r})
		}
	}
	switch {
	case held == 0:
		return refuse(da.CodeNotInQuorum, nil, "signer %d holds no slot of any blob of the batch in quorum %d of epoch %d", n.index, req.Quorum, req.Epoch)
	case len(notHeld) > 0:
		return refuse(da.CodeNotHeld, notHeld, "%d rows for slots signer %d does not hold in quorum %d of epoch %d", len(notHeld), n.index, req.Quorum, req.Epoch)
	case len(missing) > 0:
		return refuse(da.CodeMissingRows, missing, "%d rows of slots signer %d holds were not sent", len(missing), n.index)
	}

	// Verify every row at once against its blob's data commitments.
	start := time.Now()
	blobs, rows, bad := n.parseRows(req)
	if len(bad) > 0 {
		return refuse(da.CodeBadRows, bad, "%d rows hold a non-canonical field element", len(bad))
	}
	badIdx, err := n.kzg.VerifyExtendedRows(blobs, rows)
	n.metrics.verify.Observe(time.Since(start).Seconds())
	if err != nil {
		return refuse(da.CodeBadHeader, nil, "verifying rows: %v", err)
	}
	if len(badIdx) > 0 {
		for _, i := range badIdx {
			bad = append(bad, req.Slices[i].SliceRef)
		}
		return refuse(da.CodeBadRows, bad, "%d of %d rows do not match their commitments", len(bad), len(rows))
	}

	// Store durably, then sign.
	var batch storage.Batch
	tag := storage.WithEpoch(req.Epoch)
	for i := range req.Headers {
		batch.Put(headerKey(req.Headers[i].Key), encodeHeader(req.Epoch, &req.Headers[i]), tag)
	}
	for _, sl := range req.Slices {
		batch.Put(rowKey(req.Headers[sl.Blob].Key, sl.Row), sl.Data, tag)
	}
	if err := n.store.Write(ctx, &batch); err != nil {
		n.log.Error("storing a batch", "err", err)
		return refuse(da.CodeInternal, nil, "storing the rows failed: %v", err)
	}
	n.metrics.stored.Add(float64(len(req.Slices) * da.RowSize))
	n.metrics.rows.Add(float64(len(req.Slices)))

	root, err := da.BatchRoot(req.Keys())
	if err != nil {
		return refuse(da.CodeInternal, nil, "batch root: %v", err)
	}
	msg := da.AttestationMessage(n.chainID, req.Epoch, req.Quorum, root)
	if n.fault == faultBadSignature {
		msg = append(msg, "not the attestation"...)
	}
	n.log.Debug("batch signed", "epoch", req.Epoch, "quorum", req.Quorum, "root", root, "blobs", len(req.Headers), "rows", len(req.Slices))
	return &da.DisperseResponse{OK: true, Signature: n.key.Sign(msg).Bytes()}
}

// heldRows is the set of extended rows of a blob that the slots in mine
// (this node's slots of quorum q, ascending) hold: the blob's i-th slot is
// quorum slot (first + i) mod M and holds row i mod 4K, for i < S ≤ M.
func heldRows(q da.Quorum, mine []int, key da.BlobKey, k uint32) map[uint32]bool {
	m := len(q)
	first := da.BlobFirstSlot(key, m)
	s := da.BlobSlotCount(k)
	out := make(map[uint32]bool)
	for _, slot := range mine {
		i := (slot - first + m) % m
		if i < s {
			out[da.BlobSlotRow(k, i)] = true
		}
	}
	return out
}

func sortedRows(set map[uint32]bool) []uint32 {
	out := make([]uint32, 0, len(set))
	for r := range set {
		out = append(out, r)
	}
	for i := 1; i < len(out); i++ { // small sets: insertion sort
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func kzgCommitments(cs []da.Commitment) []kzg.Commitment {
	out := make([]kzg.Commitment, len(cs))
	for i, c := range cs {
		out[i] = kzg.Commitment(c)
	}
	return out
}

// parseRows turns the request's rows into field elements (refusing
// non-canonical ones, listed in bad), each naming its blob and row index for
// kzg.VerifyExtendedRows, which needs only the blobs' data commitments.
func (n *Node) parseRows(req *da.DisperseRequest) (blobs [][]kzg.Commitment, rows []kzg.ExtendedRow, bad []da.SliceRef) {
	blobs = make([][]kzg.Commitment, len(req.Headers))
	for b := range req.Headers {
		blobs[b] = kzgCommitments(req.Headers[b].Commitments)
	}
	elems := make([]fr.Element, len(req.Slices)*kzg.ScalarsPerRow)
	rows = make([]kzg.ExtendedRow, len(req.Slices))
	for i, sl := range req.Slices {
		row := elems[i*kzg.ScalarsPerRow : (i+1)*kzg.ScalarsPerRow : (i+1)*kzg.ScalarsPerRow]
		if err := parseRow(sl.Data, row); err != nil {
			bad = append(bad, sl.SliceRef)
		}
		rows[i] = kzg.ExtendedRow{Blob: int(sl.Blob), Index: int(sl.Row), Row: row}
	}
	return blobs, rows, bad
}

// parseRow decodes RowSize bytes into 4096 canonical field elements.
func parseRow(b []byte, dst []fr.Element) error {
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
