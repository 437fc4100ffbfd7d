package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

	"github.com/zgda/zgda/chain"
	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/dispersal"
	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/engine/api"
	"github.com/zgda/zgda/internal/cellasks"
	"github.com/zgda/zgda/kzg"
	"github.com/zgda/zgda/storage"
)

// Blob returns the exact bytes posted under key once the chain has
// certified them (docs/spec.md §7): the local copy, or, once retention has
// pruned it or for a blob this engine never held, the blob read back from
// the DA nodes of the batch the chain last certified it in — its own data
// rows when they all come back and verify, any D dispersed rows otherwise
// (docs/spec.md §3.6) — so the bytes are always the committed ones. A blob
// this engine holds but has not got certified (queued, dispersing, failed)
// is ErrNotYetCertified naming its status, even while the bytes are here.
//
// Blobs read back are kept within Retrieval.CacheBytes, and concurrent reads
// of one blob share one rebuild, which waits for one of Retrieval.MaxHeavy
// places. The result must not be modified.
func (e *Engine) Blob(ctx context.Context, key da.BlobKey) ([]byte, error) {
	r, err := e.readStatus(ctx, key)
	if err != nil {
		return nil, err
	}
	if r != nil && r.Status != api.StatusCertified {
		why := ""
		if r.Reason != "" {
			why = " (" + r.Reason + ")"
		}
		return nil, fmt.Errorf("%w: blob %s is %s%s; GET /v1/blobs/%s/status follows it",
			ErrNotYetCertified, key, r.Status, why, key)
	}
	if r != nil {
		data, err := e.store.Get(ctx, storeKey(prefixBlob, key))
		if err == nil {
			return data, nil
		}
		if !errors.Is(err, storage.ErrNotFound) {
			return nil, fmt.Errorf("%w: reading blob %s: %v", ErrInternal, key, err)
		}
	}
	return e.rebuilt.Get(ctx, key, func() ([]byte, error) {
		root, hdr, err := e.locate(ctx, key, r)
		if err != nil {
			return nil, err
		}
		release, err := e.heavySlot(ctx, "rebuilding blob "+key.String())
		if err != nil {
			return nil, err
		}
		defer release()
		return e.reconstruct(ctx, key, root, hdr)
	})
}

// heavySlot waits (at most Retrieval.QueueTimeout) for one of the
// Retrieval.MaxHeavy places of the expensive reads; the answer to a read that
// gets none is 429 with Retry-After, so that reads queue at the client, not
// here.
func (e *Engine) heavySlot(ctx context.Context, what string) (release func(), err error) {
	t := time.NewTimer(time.Duration(e.cfg.Retrieval.QueueTimeout))
	defer t.Stop()
	select {
	case e.heavy <- struct{}{}:
		e.m.heavyReads.Inc()
		return func() { e.m.heavyReads.Dec(); <-e.heavy }, nil
	case <-t.C:
		e.m.rejected.WithLabelValues("reads_busy").Inc()
		return nil, fmt.Errorf("%w: %s: %d expensive reads (cells, rebuilds) are running and none finished within %v",
			api.ErrTooManyRequests, what, cap(e.heavy), e.cfg.Retrieval.QueueTimeout)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// locate finds the batch that holds a certified blob and its header: from
// the engine's own records when it has them, else through the chain and the
// DA nodes.
func (e *Engine) locate(ctx context.Context, key da.BlobKey, r *statusRecord) (da.Hash, *da.BatchHeader, error) {
	if r != nil && r.BatchRoot != nil {
		hdr, err := e.batchHeader(ctx, *r.BatchRoot)
		if err != nil {
			return da.Hash{}, nil, err
		}
		return *r.BatchRoot, hdr, nil
	}
	if e.disp == nil {
		return da.Hash{}, nil, fmt.Errorf("%w: no blob %s", ErrNotFound, key)
	}
	loc, err := e.disp.Locate(ctx, key)
	if errors.Is(err, dispersal.ErrNotFound) {
		return da.Hash{}, nil, fmt.Errorf("%w: no blob %s here, and the chain has no certified batch holding it", ErrNotFound, key)
	}
	if err != nil {
		return da.Hash{}, nil, dispersalErr(fmt.Sprintf("blob %s", key), err)
	}
	hdr, err := e.batchHeader(ctx, loc.Root)
	if err != nil {
		return da.Hash{}, nil, err
	}
	if i := hdr.Index(key); i != loc.Index {
		return da.Hash{}, nil, fmt.Errorf("%w: the chain places blob %s at index %d of batch %s, its header at %d",
			ErrUnavailable, key, loc.Index, loc.Root, i)
	}
	return loc.Root, hdr, nil
}

// dispersalErr maps a dispersal error to the engine's sentinels.
func dispersalErr(what string, err error) error {
	if errors.Is(err, dispersal.ErrNotFound) {
		return fmt.Errorf("%w: %s: %v", ErrNotFound, what, err)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("%w: %s: %v", ErrUnavailable, what, err)
}

// batchHeader returns a batch's header: in flight, stored, or from the DA
// nodes (checked against the root there).
func (e *Engine) batchHeader(ctx context.Context, root da.Hash) (*da.BatchHeader, error) {
	e.mu.Lock()
	bt := e.batches[root]
	e.mu.Unlock()
	if bt != nil {
		return &bt.enc.Header, nil
	}
	h, err := e.readHeader(ctx, root)
	if err != nil || h != nil {
		return h, err
	}
	if e.disp == nil {
		return nil, fmt.Errorf("%w: no batch %s", ErrNotFound, root)
	}
	h, err = e.disp.BatchHeader(ctx, root)
	if err != nil {
		return nil, dispersalErr(fmt.Sprintf("batch %s", root), err)
	}
	return h, nil
}

// Commitments returns the blob's length, R and C_0 … C_{R−1}: from its
// record, or from the header of the batch the chain certified it in.
func (e *Engine) Commitments(ctx context.Context, key da.BlobKey) (*api.Commitments, error) {
	r, err := e.readStatus(ctx, key)
	if err != nil {
		return nil, err
	}
	if r != nil {
		return &api.Commitments{Length: r.Length, Rows: r.Rows, Commitments: r.Commitments}, nil
	}
	_, hdr, err := e.locate(ctx, key, nil)
	if err != nil {
		return nil, err
	}
	b := &hdr.Blobs[hdr.Index(key)]
	return &api.Commitments{Length: int(b.Length), Rows: int(b.Rows), Commitments: encoder.KZGCommitments(b.Commitments)}, nil
}

// Batch returns a batch's header with its counts and, once the chain has
// recorded it, its certificate (docs/spec.md §7, Batch object).
func (e *Engine) Batch(ctx context.Context, root da.Hash) (*api.Batch, error) {
	hdr, err := e.batchHeader(ctx, root)
	if err != nil {
		return nil, err
	}
	rec, err := e.readCert(ctx, root)
	if err != nil {
		return nil, err
	}
	if rec == nil && e.chain != nil && e.inFlight(root) == nil {
		if rec, err = e.chain.Certificate(ctx, root); err != nil {
			if !chain.IsNotFound(err) {
				return nil, fmt.Errorf("%w: the certificate of batch %s: %v", ErrUnavailable, root, err)
			}
			rec = nil
		}
	}
	var cert *da.Certificate
	if rec != nil {
		cert = &rec.Certificate
	}
	return api.NewBatch(hdr, cert), nil
}

func (e *Engine) inFlight(root da.Hash) *batch {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.batches[root]
}

// Cell returns cell c of dispersed row n of a batch with its EIP-7594 proof
// against that row's commitment (docs/spec.md §3.5). n and c are checked
// against the batch's shape (an *IndexError). When the engine holds the
// row's data — the batch in flight, or the local copies of the blobs it
// needs — it answers from the row's cached cells; else, for a data row asked
// for fewer than cellasks.RowAfter distinct cells, by proving the one cell
// (one MSM); else by computing the row's 128 cells and proofs once (FK20)
// and caching them. A parity row comes from its coset block of the column
// extension, computed once and cached (Retrieval.BlockCacheBytes). Without
// the row's data
// the cell comes from a DA node (verified there against the row's
// commitment).
func (e *Engine) Cell(ctx context.Context, root da.Hash, n, c int) (*api.Cell, error) {
	hdr, err := e.batchHeader(ctx, root)
	if err != nil {
		return nil, err
	}
	if lim := hdr.DispersedRows(); n < 0 || n >= lim {
		return nil, &IndexError{What: "row", Index: n, Limit: lim}
	}
	if c < 0 || c >= encoder.CellsPerRow {
		return nil, &IndexError{What: "cell", Index: c, Limit: encoder.CellsPerRow}
	}
	key := cellKey{root, n}
	if ent, ok := e.cells.Peek(key); ok {
		return &api.Cell{Cell: kzg.CellBytes(ent.cells[c]), Proof: api.Proof(ent.proofs[c])}, nil
	}
	askKey := string(root[:]) + strconv.Itoa(n)
	if e.asks.Ask(askKey, uint16(c)) < cellasks.RowAfter {
		cell, err := e.singleCell(ctx, root, hdr, n, c)
		if err == nil {
			return cell, nil
		}
		if !errors.Is(err, errNotLocal) {
			return nil, err
		}
		return e.nodeCell(ctx, root, n, c)
	}
	ent, err := e.cells.Get(ctx, key, func() (*cellEntry, error) {
		// An FK20 run uses every core: run few at once, whatever the
		// number of requests asking.
		row, release, err := e.heavyRow(ctx, fmt.Sprintf("cells of row %d of batch %s", n, root), root, hdr, n)
		if err != nil {
			return nil, err
		}
		defer release()
		cells, proofs, err := e.kzg.ComputeCellsAndProofs(row)
		if err != nil {
			return nil, fmt.Errorf("%w: cells of row %d of batch %s: %v", ErrInternal, n, root, err)
		}
		e.asks.Forget(askKey)
		e.m.cellPaths.WithLabelValues("row").Inc()
		return &cellEntry{cells: cells, proofs: proofs}, nil
	})
	if err == nil {
		return &api.Cell{Cell: kzg.CellBytes(ent.cells[c]), Proof: api.Proof(ent.proofs[c])}, nil
	}
	if !errors.Is(err, errNotLocal) {
		return nil, err
	}
	return e.nodeCell(ctx, root, n, c)
}

// heavyRow takes a place of the expensive reads and returns dispersed row n
// from the local copies (localRow); release gives the place back.
func (e *Engine) heavyRow(ctx context.Context, what string, root da.Hash, hdr *da.BatchHeader, n int) ([]fr.Element, func(), error) {
	release, err := e.heavySlot(ctx, what)
	if err != nil {
		return nil, nil, err
	}
	row, err := e.localRow(ctx, root, hdr, n)
	if err != nil {
		release()
		return nil, nil, err
	}
	return row, release, nil
}

// singleCell proves cell c of data row n from the local copies
// (kzg.ComputeCellAndProof); nothing is cached.
func (e *Engine) singleCell(ctx context.Context, root da.Hash, hdr *da.BatchHeader, n, c int) (*api.Cell, error) {
	row, release, err := e.heavyRow(ctx, fmt.Sprintf("cell %d of row %d of batch %s", c, n, root), root, hdr, n)
	if err != nil {
		return nil, err
	}
	defer release()
	cell, proof, err := e.kzg.ComputeCellAndProof(row, uint64(c))
	if err != nil {
		return nil, fmt.Errorf("%w: cell %d of row %d of batch %s: %v", ErrInternal, c, n, root, err)
	}
	e.m.cellPaths.WithLabelValues("single").Inc()
	return &api.Cell{Cell: kzg.CellBytes(cell), Proof: api.Proof(proof)}, nil
}

// nodeCell fetches cell c of row n from a DA node, which the engine no
// longer holds the data of.
func (e *Engine) nodeCell(ctx context.Context, root da.Hash, n, c int) (*api.Cell, error) {
	if e.disp == nil {
		return nil, fmt.Errorf("%w: row %d of batch %s: the local copies are gone and there are no DA nodes to ask", ErrUnavailable, n, root)
	}
	cell, proof, err := e.disp.FetchCell(ctx, root, uint32(n), uint16(c))
	if err != nil {
		return nil, dispersalErr(fmt.Sprintf("cell (%d, %d) of batch %s", n, c, root), err)
	}
	return &api.Cell{Cell: kzg.CellBytes(cell), Proof: api.Proof(proof)}, nil
}

// errNotLocal: the engine does not hold the data of a row.
var errNotLocal = errors.New("engine: row not held locally")

// localRow returns dispersed row n of a batch from what the engine holds
// (docs/spec.md §3.4): the batch in flight; else a data row from its blob's
// local copy, or a parity row from the column extension of the matrix packed
// from every blob's local copy. errNotLocal when a copy is gone.
func (e *Engine) localRow(ctx context.Context, root da.Hash, hdr *da.BatchHeader, n int) ([]fr.Element, error) {
	if bt := e.inFlight(root); bt != nil {
		if row := bt.row(n); row != nil {
			return row, nil
		}
	}
	d, offs := hdr.DataRows(), hdr.Offsets()
	localCopy := func(i int) ([]byte, error) {
		b := &hdr.Blobs[i]
		data, err := e.store.Get(ctx, storeKey(prefixBlob, b.Key))
		if errors.Is(err, storage.ErrNotFound) {
			return nil, errNotLocal
		}
		if err != nil {
			return nil, fmt.Errorf("%w: reading blob %s: %v", ErrInternal, b.Key, err)
		}
		if len(data) != int(b.Length) {
			return nil, fmt.Errorf("%w: the local copy of %s has %d bytes, its header says %d", ErrInternal, b.Key, len(data), b.Length)
		}
		return data, nil
	}
	// packInto packs blob bytes into rows (§3.1: row r holds bytes
	// [r·126,976, (r+1)·126,976) alone, so a slice packs into its rows).
	packInto := func(key da.BlobKey, data []byte, rows [][]fr.Element) error {
		if err := encoder.PackInto(data, rows); err != nil {
			return fmt.Errorf("%w: packing %s: %v", ErrInternal, key, err)
		}
		return nil
	}
	if n < d {
		// A data row: pack just its bytes, not the whole blob.
		i := sort.Search(len(offs), func(i int) bool { return offs[i] > n }) - 1
		data, err := localCopy(i)
		if err != nil {
			return nil, err
		}
		r := n - offs[i]
		row := newRows(1)
		if err := packInto(hdr.Blobs[i].Key, data[r*encoder.BytesPerRow:min(len(data), (r+1)*encoder.BytesPerRow)], row); err != nil {
			return nil, err
		}
		return row[0], nil
	}
	pack := func(i int) ([][]fr.Element, error) {
		data, err := localCopy(i)
		if err != nil {
			return nil, err
		}
		rows := newRows(int(hdr.Blobs[i].Rows))
		if err := packInto(hdr.Blobs[i].Key, data, rows); err != nil {
			return nil, err
		}
		return rows, nil
	}
	k := hdr.MatrixRows()
	j := da.ExtendedRow(n, d)
	blk := j / k
	rows, err := e.blocks.Get(ctx, blockKey{root, blk}, func() ([][]fr.Element, error) {
		matrix := make([][]fr.Element, 0, k)
		for i := range hdr.Blobs {
			rows, err := pack(i)
			if err != nil {
				return nil, err
			}
			matrix = append(matrix, rows...)
		}
		zero := make([]fr.Element, encoder.ElementsPerRow)
		for len(matrix) < k {
			matrix = append(matrix, zero) // padding rows (§3.3)
		}
		// The whole coset block of row j: it costs about what one row of it
		// does (the column IFFTs dominate), and a batch's parity rows are
		// read many at a time by samplers.
		out := make([][]fr.Element, encoder.ColumnExtension*k)
		for i := blk * k; i < (blk+1)*k; i++ {
			out[i] = make([]fr.Element, encoder.ElementsPerRow)
		}
		if err := e.enc.Backend().ExtendColumns(ctx, matrix, out); err != nil {
			return nil, fmt.Errorf("%w: extending batch %s: %v", ErrInternal, root, err)
		}
		return out[blk*k : (blk+1)*k], nil
	})
	if err != nil {
		return nil, err
	}
	return rows[j-blk*k], nil
}

// blockKey names one coset block (K extended rows) of a batch's column
// extension.
type blockKey struct {
	root da.Hash
	blk  int
}

// reconstruct reads a certified blob back from the DA nodes (docs/spec.md
// §3.6): it fetches the blob's own R data rows and, if they all arrive and
// verify, unpacks them; otherwise it fetches other dispersed rows until it
// holds D good ones and decodes the batch matrix. Rows that do not match
// their commitments are replaced by others.
func (e *Engine) reconstruct(ctx context.Context, key da.BlobKey, root da.Hash, hdr *da.BatchHeader) ([]byte, error) {
	if e.disp == nil {
		return nil, fmt.Errorf("%w: blob %s: no local copy and no DA nodes to ask", ErrUnavailable, key)
	}
	idx := hdr.Index(key)
	if idx < 0 {
		return nil, fmt.Errorf("%w: batch %s does not hold blob %s", ErrInternal, root, key)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(e.cfg.Retrieval.Timeout))
	defer cancel()
	start := time.Now()
	d, n := hdr.DataRows(), hdr.DispersedRows()
	o, r := hdr.Offsets()[idx], int(hdr.Blobs[idx].Rows)
	// The blob's own rows first, then every other dispersed row.
	order := make([]int, 0, n)
	for i := o; i < o+r; i++ {
		order = append(order, i)
	}
	for i := 0; i < n; i++ {
		if i < o || i >= o+r {
			order = append(order, i)
		}
	}
	type res struct {
		n   int
		row []fr.Element
		err error
	}
	results := make(chan res, n) // never blocks a fetch; cancel ends those left
	got := map[int][]fr.Element{}
	next, inflight, want := 0, 0, r
	var lastErr error
	for {
		for inflight < e.cfg.Retrieval.Concurrency && next < len(order) && len(got)+inflight < want {
			j := order[next]
			next++
			inflight++
			go func() {
				row, err := e.disp.FetchRow(ctx, root, uint32(j))
				if err == nil && len(row) != encoder.ElementsPerRow {
					err = fmt.Errorf("row %d has %d elements", j, len(row))
				}
				results <- res{j, row, err}
			}()
		}
		if inflight == 0 {
			if len(got) < want {
				if want < d {
					want = d // some of the blob's own rows are missing: any D will do
					continue
				}
				e.m.reconstructs.WithLabelValues("error").Inc()
				return nil, fmt.Errorf("%w: blob %s: only %d of the %d rows needed could be fetched from %d tried (last error: %v)",
					ErrUnavailable, key, len(got), want, next, lastErr)
			}
			data, rejected, err := e.enc.DecodeBlob(ctx, e.kzg, hdr, idx, got, nil)
			if err == nil {
				e.m.reconstructs.WithLabelValues("ok").Inc()
				e.log.Info("blob read back from DA nodes", "blob_key", key, "batch_root", root, "rows_fetched", next,
					"rejected", len(rejected), "seconds", time.Since(start).Seconds())
				return data, nil
			}
			if len(rejected) == 0 && len(got) >= d {
				e.m.reconstructs.WithLabelValues("error").Inc()
				return nil, fmt.Errorf("%w: decoding %s: %v", ErrUnavailable, key, err)
			}
			for _, j := range rejected {
				delete(got, j)
			}
			lastErr = fmt.Errorf("rows %v did not match their commitments", rejected)
			want = d
			continue
		}
		x := <-results
		inflight--
		if x.err != nil {
			lastErr = x.err
			continue
		}
		got[x.n] = x.row
	}
}

type cellKey struct {
	root da.Hash
	row  int
}

// cellEntry is one row's 128 cells and proofs.
type cellEntry struct {
	cells  [][]fr.Element
	proofs []kzg.Proof
}
