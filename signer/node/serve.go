package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
	"github.com/libp2p/go-libp2p/core/network"

	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/internal/cellasks"
	"github.com/zgda/zgda/kzg"
	"github.com/zgda/zgda/storage"
)

// readQuery reads a row or cell request under the query bound; ok is false
// when it has already answered (busy or malformed).
func (n *Node) readQuery(s network.Stream, proto string) (m da.Message, release func(), ok bool) {
	s.SetDeadline(time.Now().Add(time.Duration(n.cfg.Limits.RequestTimeout)))
	select {
	case n.qsem <- struct{}{}:
	default:
		n.answer(s, proto, &da.Busy{RetryAfterMillis: uint32(busyRetry / time.Millisecond)})
		return nil, nil, false
	}
	release = func() { <-n.qsem }
	m, err := da.ReadMessage(s, da.MaxQuerySize)
	if err != nil {
		release()
		code := da.CodeMalformed
		if errors.Is(err, da.ErrMessageTooLarge) {
			code = da.CodeTooLarge
		}
		n.answer(s, proto, &da.ErrorMessage{Code: code, Reason: truncReason(err.Error())})
		return nil, nil, false
	}
	return m, release, true
}

func (n *Node) handleRow(s network.Stream) {
	defer s.Close()
	m, release, ok := n.readQuery(s, "row")
	if !ok {
		return
	}
	defer release()
	req, ok := m.(*da.RowRequest)
	if !ok {
		n.answer(s, "row", &da.ErrorMessage{Code: da.CodeMalformed, Reason: fmt.Sprintf("a %s on the row protocol", m.Type())})
		return
	}
	ctx, cancel := context.WithTimeout(n.ctx, time.Duration(n.cfg.Limits.RequestTimeout))
	defer cancel()
	resp, err := n.Row(ctx, req)
	if err != nil {
		n.answer(s, "row", queryError(err))
		return
	}
	n.answer(s, "row", resp)
}

func (n *Node) handleCell(s network.Stream) {
	defer s.Close()
	m, release, ok := n.readQuery(s, "cell")
	if !ok {
		return
	}
	defer release()
	req, ok := m.(*da.CellRequest)
	if !ok {
		n.answer(s, "cell", &da.ErrorMessage{Code: da.CodeMalformed, Reason: fmt.Sprintf("a %s on the cell protocol", m.Type())})
		return
	}
	ctx, cancel := context.WithTimeout(n.ctx, time.Duration(n.cfg.Limits.RequestTimeout))
	defer cancel()
	resp, err := n.Cell(ctx, req)
	if err != nil {
		n.answer(s, "cell", queryError(err))
		return
	}
	n.answer(s, "cell", resp)
}

// notFoundError is a row or blob the node does not store.
type notFoundError struct{ what string }

func (e *notFoundError) Error() string { return e.what + " is not stored here" }

func queryError(err error) *da.ErrorMessage {
	var nf *notFoundError
	if errors.As(err, &nf) {
		return &da.ErrorMessage{Code: da.CodeNotFound, Reason: truncReason(err.Error())}
	}
	return &da.ErrorMessage{Code: da.CodeInternal, Reason: truncReason(err.Error())}
}

func truncReason(s string) string {
	if len(s) > da.MaxReasonLen {
		return s[:da.MaxReasonLen-3] + "…"
	}
	return s
}

// header reads a stored batch header and the epoch it was stored for.
func (n *Node) header(ctx context.Context, root da.Hash) (uint64, *da.BatchHeader, error) {
	raw, err := n.store.Get(ctx, headerKey(root))
	if errors.Is(err, storage.ErrNotFound) {
		return 0, nil, &notFoundError{"batch " + root.String()}
	}
	if err != nil {
		return 0, nil, err
	}
	return decodeHeader(root, raw)
}

// Row answers a row request from storage (the work behind da.ProtocolRow):
// dispersed row req.Row of batch req.Root, with the stored batch header when
// asked for.
func (n *Node) Row(ctx context.Context, req *da.RowRequest) (*da.RowResponse, error) {
	data, err := n.store.Get(ctx, rowKey(req.Root, req.Row))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, &notFoundError{fmt.Sprintf("row %d of batch %s", req.Row, req.Root)}
	}
	if err != nil {
		return nil, err
	}
	if len(data) != da.RowSize {
		return nil, fmt.Errorf("stored row %d of batch %s has %d bytes", req.Row, req.Root, len(data))
	}
	resp := &da.RowResponse{Root: req.Root, Row: req.Row, Data: data}
	if req.WantHeader {
		if _, resp.Header, err = n.header(ctx, req.Root); err != nil {
			return nil, err
		}
	}
	return resp, nil
}

// Cell answers a cell request (the work behind da.ProtocolCell). The 128
// cells of a row asked often are kept in memory (Limits.CellCacheBytes) and
// their proofs on disk, 6,144 bytes beside the 131,072 of the row: cells are
// cheap to recompute from the row (one row extension), proofs are not. So a
// cell comes from the memory cache; else, when the row's proofs are stored,
// from the row extended again; else, for the first cellasks.RowAfter−1
// distinct cells asked of the row, by proving the one cell (EIP-7594
// compute_kzg_proof_multi_impl); after that by computing all 128 cells and
// proofs (EIP-7594 compute_cells_and_kzg_proofs) and storing the proofs.
// Concurrent requests for a row share its computation.
func (n *Node) Cell(ctx context.Context, req *da.CellRequest) (*da.CellResponse, error) {
	epoch, hdr, err := n.header(ctx, req.Root)
	if err != nil {
		return nil, err
	}
	if nr := hdr.DispersedRows(); int(req.Row) >= nr {
		return nil, &notFoundError{fmt.Sprintf("row %d of batch %s (it has %d)", req.Row, req.Root, nr)}
	}
	if int(req.Cell) >= da.CellsPerRow { // the decoder checks; a caller of Cell may not
		return nil, &notFoundError{fmt.Sprintf("cell %d of row %d of batch %s (a row has %d)", req.Cell, req.Row, req.Root, da.CellsPerRow)}
	}
	resp := &da.CellResponse{Root: req.Root, Row: req.Row, Cell: req.Cell}
	if req.WantHeader {
		resp.Header = hdr
	}
	key := cellRowKey{req.Root, req.Row}
	rc, ok := n.cells.Peek(key)
	if ok {
		n.metrics.cellPaths.WithLabelValues("cached").Inc()
	} else {
		stored, err := n.store.Has(ctx, proofsKey(req.Root, req.Row))
		if err != nil {
			return nil, err
		}
		if !stored && n.asks.Ask(key.String(), req.Cell) < cellasks.RowAfter {
			cell, proof, err := n.computeCell(ctx, req.Root, req.Row, req.Cell)
			if err != nil {
				return nil, err
			}
			n.metrics.cellPaths.WithLabelValues("single").Inc()
			resp.Data, resp.Proof = cell, proof
			return resp, nil
		}
		path := "proofs"
		if !stored {
			path = "row"
		}
		rc, err = n.cells.Get(ctx, key, func() (*rowCells, error) { return n.computeRowCells(ctx, req.Root, req.Row, epoch) })
		if err != nil {
			return nil, err
		}
		n.asks.Forget(key.String())
		n.metrics.cellPaths.WithLabelValues(path).Inc()
	}
	resp.Data = rc.cells[int(req.Cell)*da.CellSize:][:da.CellSize]
	copy(resp.Proof[:], rc.proofs[int(req.Cell)*da.ProofSize:])
	return resp, nil
}

// cellRowKey names a row of a batch in the cell cache.
type cellRowKey struct {
	root da.Hash
	row  uint32
}

func (k cellRowKey) String() string { return fmt.Sprintf("%s/%d", k.root, k.row) }

// rowCells are a row's 128 cells and their proofs, each concatenated.
type rowCells struct {
	cells  []byte // 128 × da.CellSize
	proofs []byte // 128 × da.ProofSize
}

func (r *rowCells) size() int64 { return int64(len(r.cells) + len(r.proofs)) }

// storedRow reads and parses a stored dispersed row.
func (n *Node) storedRow(ctx context.Context, root da.Hash, row uint32) ([]fr.Element, error) {
	data, err := n.store.Get(ctx, rowKey(root, row))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, &notFoundError{fmt.Sprintf("row %d of batch %s", row, root)}
	}
	if err != nil {
		return nil, err
	}
	elems := make([]fr.Element, kzg.ScalarsPerRow)
	if err := parseRow(data, elems); err != nil {
		return nil, fmt.Errorf("stored row %d of batch %s: %v", row, root, err)
	}
	return elems, nil
}

// computeCell proves one cell of a stored row; nothing is cached.
func (n *Node) computeCell(ctx context.Context, root da.Hash, row uint32, cell uint16) ([]byte, kzg.Proof, error) {
	elems, err := n.storedRow(ctx, root, row)
	if err != nil {
		return nil, kzg.Proof{}, err
	}
	c, proof, err := n.kzg.ComputeCellAndProof(elems, uint64(cell))
	if err != nil {
		return nil, kzg.Proof{}, err
	}
	return kzg.CellBytes(c), proof, nil
}

// computeRowCells extends a stored row into its 128 cells and takes their
// proofs from the store, or, when none are stored, computes them (FK20) and
// stores them.
func (n *Node) computeRowCells(ctx context.Context, root da.Hash, row uint32, epoch uint64) (*rowCells, error) {
	elems, err := n.storedRow(ctx, root, row)
	if err != nil {
		return nil, err
	}
	out := &rowCells{cells: make([]byte, 0, da.CellsPerRow*da.CellSize)}
	pkey := proofsKey(root, row)
	out.proofs, err = n.store.Get(ctx, pkey)
	switch {
	case err == nil:
		if len(out.proofs) != da.CellsPerRow*da.ProofSize {
			return nil, fmt.Errorf("stored proofs of row %d of batch %s: %d bytes", row, root, len(out.proofs))
		}
		cells, err := n.enc.Cells(ctx, elems)
		if err != nil {
			return nil, err
		}
		for _, c := range cells {
			out.cells = append(out.cells, kzg.CellBytes(c)...)
		}
		return out, nil
	case !errors.Is(err, storage.ErrNotFound):
		return nil, err
	}
	cells, proofs, err := n.kzg.ComputeCellsAndProofs(elems)
	if err != nil {
		return nil, err
	}
	out.proofs = make([]byte, 0, da.CellsPerRow*da.ProofSize)
	for i := range cells {
		out.cells = append(out.cells, kzg.CellBytes(cells[i])...)
		out.proofs = append(out.proofs, proofs[i][:]...)
	}
	if err := n.store.Put(ctx, pkey, out.proofs, storage.WithEpoch(epoch)); err != nil {
		return nil, err
	}
	return out, nil
}
