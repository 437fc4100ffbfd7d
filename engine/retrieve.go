package engine

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/engine/api"
	"github.com/zgda/zgda/kzg"
	"github.com/zgda/zgda/storage"
)

// Blob returns the exact bytes posted under key: the local copy, or, once
// retention has pruned it, the blob reconstructed from any K rows fetched
// from the DA nodes (each checked against its commitment, so the bytes are
// always the committed ones). The result belongs to the caller.
func (e *Engine) Blob(ctx context.Context, key da.BlobKey) ([]byte, error) {
	data, err := e.store.Get(ctx, storeKey(prefixBlob, key))
	if err == nil {
		return data, nil
	}
	if !errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("%w: reading blob %s: %v", ErrInternal, key, err)
	}
	r, err := e.readStatus(ctx, key)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, fmt.Errorf("%w: no blob %s", ErrNotFound, key)
	}
	if r.Status != api.StatusCertified {
		return nil, fmt.Errorf("%w: blob %s is %s and its local copy is gone", ErrUnavailable, key, r.Status)
	}
	return e.reconstruct(ctx, key, r)
}

// Commitments returns the blob's length, K and C_0 … C_{K−1}.
func (e *Engine) Commitments(ctx context.Context, key da.BlobKey) (*api.Commitments, error) {
	r, err := e.record(ctx, key)
	if err != nil {
		return nil, err
	}
	return &api.Commitments{Length: r.Length, Rows: r.Rows, Commitments: r.Commitments}, nil
}

// record is the stored status record of a known blob (ErrNotFound if none).
func (e *Engine) record(ctx context.Context, key da.BlobKey) (*statusRecord, error) {
	r, err := e.readStatus(ctx, key)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, fmt.Errorf("%w: no blob %s", ErrNotFound, key)
	}
	return r, nil
}

// Cell returns cell `cell` of extended row `row` with its EIP-7594 proof
// against C_row. Row and cell are checked against the blob's shape (an
// *IndexError). The row's 128 cells and proofs are computed once (an FK20
// run) and kept in a small cache.
func (e *Engine) Cell(ctx context.Context, key da.BlobKey, row, cell int) (*api.Cell, error) {
	r, err := e.record(ctx, key)
	if err != nil {
		return nil, err
	}
	if row < 0 || row >= 4*r.Rows {
		return nil, &IndexError{What: "row", Index: row, Limit: 4 * r.Rows}
	}
	if cell < 0 || cell >= encoder.CellsPerRow {
		return nil, &IndexError{What: "cell", Index: cell, Limit: encoder.CellsPerRow}
	}
	ent, err := e.cells.get(ctx, cellKey{key, row}, func() (*cellEntry, error) {
		// An FK20 run uses every core: run few at once, whatever the
		// number of requests asking.
		select {
		case e.cellSem <- struct{}{}:
			defer func() { <-e.cellSem }()
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		data, err := e.extendedRow(ctx, key, r, row)
		if err != nil {
			return nil, err
		}
		cells, proofs, err := e.kzg.ComputeCellsAndProofs(data)
		if err != nil {
			return nil, fmt.Errorf("%w: cells of row %d of %s: %v", ErrInternal, row, key, err)
		}
		return &cellEntry{cells: cells, proofs: proofs}, nil
	})
	if err != nil {
		return nil, err
	}
	return &api.Cell{Cell: kzg.CellBytes(ent.cells[cell]), Proof: api.Proof(ent.proofs[cell])}, nil
}

// extendedRow returns extended row j of a blob: from the local copy
// (packed, and column-extended when j ≥ K); without one, fetched from the DA
// nodes and checked against its derived commitment, or else from the
// reconstructed blob.
func (e *Engine) extendedRow(ctx context.Context, key da.BlobKey, r *statusRecord, j int) ([]fr.Element, error) {
	data, err := e.store.Get(ctx, storeKey(prefixBlob, key))
	if errors.Is(err, storage.ErrNotFound) && r.Status == api.StatusCertified && e.disp != nil {
		if row, ferr := e.fetchVerifiedRow(ctx, key, r, j); ferr == nil {
			return row, nil
		}
		data, err = e.reconstruct(ctx, key, r)
	}
	if errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("%w: blob %s is %s and its local copy is gone", ErrUnavailable, key, r.Status)
	}
	if err != nil {
		return nil, err
	}
	p, err := encoder.ParamsFor(len(data))
	if err != nil {
		return nil, fmt.Errorf("%w: stored blob %s: %v", ErrInternal, key, err)
	}
	rows := newRows(p.K, p.ExtendedRows())
	if err := encoder.PackInto(data, rows); err != nil {
		return nil, fmt.Errorf("%w: packing %s: %v", ErrInternal, key, err)
	}
	if j < p.K {
		return rows[j], nil
	}
	all := rows[:cap(rows)]
	if err := e.enc.Backend().ExtendColumns(ctx, rows, all); err != nil {
		return nil, fmt.Errorf("%w: extending %s: %v", ErrInternal, key, err)
	}
	return all[j], nil
}

// fetchVerifiedRow fetches one extended row and checks it against C_j.
func (e *Engine) fetchVerifiedRow(ctx context.Context, key da.BlobKey, r *statusRecord, j int) ([]fr.Element, error) {
	cert, err := e.certOf(ctx, key, r)
	if err != nil {
		return nil, err
	}
	row, err := e.disp.FetchRow(ctx, cert, key, j)
	if err != nil {
		return nil, err
	}
	if len(row) != encoder.ElementsPerRow {
		return nil, fmt.Errorf("row %d of %s has %d elements", j, key, len(row))
	}
	// Checked against the data commitments directly: deriving all 4K
	// commitments (a G1 FFT) for every fetched row would dominate retrieval.
	bad, err := e.kzg.VerifyExtendedRows([][]kzg.Commitment{r.Commitments}, []kzg.ExtendedRow{{Index: j, Row: row}})
	if err != nil || len(bad) > 0 {
		return nil, fmt.Errorf("row %d of %s does not match its commitment (%v)", j, key, err)
	}
	return row, nil
}

func (e *Engine) certOf(ctx context.Context, key da.BlobKey, r *statusRecord) (*da.Certificate, error) {
	if r.BatchRoot == nil {
		return nil, fmt.Errorf("%w: certified record of %s has no batch root", ErrInternal, key)
	}
	c, err := e.readCert(ctx, *r.BatchRoot)
	if err != nil {
		return nil, err
	}
	return &c.Certificate, nil
}

// reconstruct rebuilds a certified blob from the DA nodes: it fetches rows
// (data rows first, then the others) until it holds K, decodes, and if some
// rows do not match their commitments fetches others in their place.
func (e *Engine) reconstruct(ctx context.Context, key da.BlobKey, r *statusRecord) ([]byte, error) {
	if e.disp == nil {
		return nil, fmt.Errorf("%w: blob %s: no local copy and no DA nodes to ask", ErrUnavailable, key)
	}
	cert, err := e.certOf(ctx, key, r)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(e.cfg.Retrieval.Timeout))
	defer cancel()
	start := time.Now()
	k, n := r.Rows, 4*r.Rows
	type res struct {
		j   int
		row []fr.Element
		err error
	}
	results := make(chan res, n)
	got := map[int][]fr.Element{}
	next, inflight := 0, 0
	var lastErr error
	for {
		for inflight < e.cfg.Retrieval.Concurrency && next < n && len(got)+inflight < k {
			j := next
			next++
			inflight++
			go func() {
				row, err := e.disp.FetchRow(ctx, cert, key, j)
				if err == nil && len(row) != encoder.ElementsPerRow {
					err = fmt.Errorf("row %d has %d elements", j, len(row))
				}
				results <- res{j, row, err}
			}()
		}
		if len(got) >= k {
			data, rejected, err := e.enc.DecodeBlob(ctx, e.kzg, r.Length, r.Commitments, got, nil)
			if err == nil {
				e.m.reconstructs.WithLabelValues("ok").Inc()
				e.log.Info("blob reconstructed from DA nodes", "blob_key", key, "rows_fetched", next,
					"rejected", len(rejected), "seconds", time.Since(start).Seconds())
				return data, nil
			}
			if len(rejected) == 0 {
				e.m.reconstructs.WithLabelValues("error").Inc()
				return nil, fmt.Errorf("%w: decoding %s: %v", ErrUnavailable, key, err)
			}
			for _, j := range rejected {
				delete(got, j)
			}
			lastErr = fmt.Errorf("rows %v did not match their commitments", rejected)
			continue
		}
		if inflight == 0 {
			e.m.reconstructs.WithLabelValues("error").Inc()
			return nil, fmt.Errorf("%w: blob %s: only %d of the %d rows needed could be fetched from %d tried (last error: %v)",
				ErrUnavailable, key, len(got), k, next, lastErr)
		}
		x := <-results
		inflight--
		if x.err != nil {
			lastErr = x.err
			continue
		}
		got[x.j] = x.row
	}
}

// cellCache keeps the cells and proofs of recently asked rows (LRU) and
// computes each row once however many ask at the same time.
type cellCache struct {
	mu    sync.Mutex
	max   int
	items map[cellKey]*list.Element // of *cellEntry
	lru   list.List
}

type cellKey struct {
	key da.BlobKey
	row int
}

type cellEntry struct {
	k      cellKey
	ready  chan struct{}
	err    error
	cells  [][]fr.Element
	proofs []kzg.Proof
}

func newCellCache(max int) *cellCache {
	return &cellCache{max: max, items: map[cellKey]*list.Element{}}
}

func (c *cellCache) get(ctx context.Context, k cellKey, compute func() (*cellEntry, error)) (*cellEntry, error) {
	c.mu.Lock()
	if el, ok := c.items[k]; ok {
		c.lru.MoveToFront(el)
		ent := el.Value.(*cellEntry)
		c.mu.Unlock()
		select {
		case <-ent.ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if ent.err != nil {
			return nil, ent.err
		}
		return ent, nil
	}
	ent := &cellEntry{k: k, ready: make(chan struct{})}
	el := c.lru.PushFront(ent)
	c.items[k] = el
	c.mu.Unlock()

	res, err := compute()
	c.mu.Lock()
	if err != nil {
		ent.err = err
		c.lru.Remove(el)
		delete(c.items, k)
	} else {
		ent.cells, ent.proofs = res.cells, res.proofs
	}
	for c.lru.Len() > max(c.max, 0) {
		old := c.lru.Back()
		oe := old.Value.(*cellEntry)
		if old == el {
			break
		}
		c.lru.Remove(old)
		delete(c.items, oe.k)
	}
	c.mu.Unlock()
	close(ent.ready)
	if err != nil {
		return nil, err
	}
	return ent, nil
}
