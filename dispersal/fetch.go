package dispersal

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/zgda/zgda/chain"
	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/kzg"
)

// Location is where a certified batch lives: its certificate's epoch,
// quorum and blobs, the batch's window in that quorum (docs/spec.md §4.2)
// and the block that recorded it. From Locate it also names one blob: its
// position Index in the batch, its first matrix row Offset and its rows R.
type Location struct {
	Root   da.Hash
	Epoch  uint64
	Quorum uint32
	Blobs  []da.CertifiedBlob
	Window da.Window
	Slots  da.Quorum // the quorum's slot → signer map
	Height int64     // the block that recorded the certificate
	Index  int       // the located blob's position in the batch
	Offset int       // its first matrix row o_i
	Rows   uint32    // its R; zero from LocateBatch
}

// Holders lists the distinct signers that hold a window slot of dispersed
// row row, in window order (nil for a row the batch does not have).
func (l *Location) Holders(row uint32) []uint32 {
	if int(row) >= l.Window.N {
		return nil
	}
	return l.Slots.Holders(l.Window, int(row))
}

// batchMeta is a batch header that checked against its root, with its
// data commitments and, once asked for, the commitments of all N dispersed
// rows.
type batchMeta struct {
	hdr  *da.BatchHeader
	data []kzg.Commitment // D, in matrix order

	once sync.Once
	all  []kzg.Commitment // N: data, then the derived parity rows
	err  error
}

// commitments are the N dispersed rows' commitments: the header's D data
// commitments and the 3D parity commitments derived from them in G1
// (docs/spec.md §3.4), derived on the first call.
func (m *batchMeta) commitments(c *kzg.Context) ([]kzg.Commitment, error) {
	m.once.Do(func() { m.all, m.err = encoder.RowCommitments(c, m.hdr) })
	return m.all, m.err
}

// commitment is dispersed row n's commitment (a data row's needs nothing
// derived).
func (m *batchMeta) commitment(c *kzg.Context, n uint32) (kzg.Commitment, error) {
	if int(n) < len(m.data) {
		return m.data[n], nil
	}
	all, err := m.commitments(c)
	if err != nil {
		return kzg.Commitment{}, err
	}
	return all[n], nil
}

// cacheLimit bounds the Dispatcher's per-blob and per-batch caches.
const cacheLimit = 4096

// Locate finds a certified blob: the most recent batch the chain recorded
// it in (within the availability window), that batch's certificate, epoch
// and quorum.
func (d *Dispatcher) Locate(ctx context.Context, key da.BlobKey) (*Location, error) {
	d.mu.Lock()
	loc, ok := d.locs[key]
	d.mu.Unlock()
	if ok {
		return loc, nil
	}
	rec, err := d.client.CertificateForBlob(ctx, key)
	if chain.IsNotFound(err) {
		return nil, fmt.Errorf("%w: the chain has no certified batch holding blob %s", ErrNotFound, key)
	}
	if err != nil {
		return nil, fmt.Errorf("dispersal: looking up blob %s: %w", key, err)
	}
	// The record is that of the key's most recent batch (docs/spec.md §6).
	batch, err := d.locationOf(ctx, rec)
	if err != nil {
		return nil, fmt.Errorf("dispersal: blob %s: %w", key, err)
	}
	index := slices.IndexFunc(batch.Blobs, func(b da.CertifiedBlob) bool { return b.Key == key })
	if index < 0 {
		return nil, fmt.Errorf("dispersal: the certificate the chain returns for blob %s (batch %s) does not list it", key, batch.Root)
	}
	l := *batch
	l.Index, l.Offset, l.Rows = index, 0, batch.Blobs[index].Rows
	for _, b := range batch.Blobs[:index] {
		l.Offset += int(b.Rows)
	}
	d.mu.Lock()
	if len(d.locs) >= cacheLimit {
		clear(d.locs)
	}
	d.locs[key] = &l
	d.mu.Unlock()
	return &l, nil
}

// LocateBatch finds a certified batch by its root: its certificate on the
// chain, the certificate's epoch and quorum, and the batch's window.
func (d *Dispatcher) LocateBatch(ctx context.Context, root da.Hash) (*Location, error) {
	d.mu.Lock()
	loc, ok := d.roots[root]
	d.mu.Unlock()
	if ok {
		return loc, nil
	}
	rec, err := d.client.Certificate(ctx, root)
	if chain.IsNotFound(err) {
		return nil, fmt.Errorf("%w: the chain has no certificate for batch %s", ErrNotFound, root)
	}
	if err != nil {
		return nil, fmt.Errorf("dispersal: looking up batch %s: %w", root, err)
	}
	return d.locationOf(ctx, rec)
}

// locationOf builds (and caches) a batch's Location from its certificate
// record.
func (d *Dispatcher) locationOf(ctx context.Context, rec *chain.CertificateRecord) (*Location, error) {
	c := &rec.Certificate
	root := c.BatchRoot
	ep, err := d.client.Epoch(ctx, c.Epoch)
	if err != nil {
		return nil, fmt.Errorf("dispersal: epoch %d of batch %s: %w", c.Epoch, root, err)
	}
	if int(c.Quorum) >= len(ep.Quorums) {
		return nil, fmt.Errorf("dispersal: the certificate of batch %s names quorum %d of epoch %d, which has %d", root, c.Quorum, c.Epoch, len(ep.Quorums))
	}
	params, err := d.chainParams(ctx)
	if err != nil {
		return nil, err
	}
	q := ep.Quorums[c.Quorum]
	w, err := da.NewWindow(root, c.DispersedRows(), int(params.MinBatchSlots), len(q))
	if err != nil {
		return nil, fmt.Errorf("dispersal: the window of batch %s: %w", root, err)
	}
	loc := &Location{Root: root, Epoch: c.Epoch, Quorum: c.Quorum, Blobs: c.Blobs, Window: w, Slots: q, Height: rec.Height}
	d.mu.Lock()
	if len(d.roots) >= cacheLimit {
		clear(d.roots)
	}
	d.roots[root] = loc
	d.mu.Unlock()
	return loc, nil
}

// VerifyBatchHeader checks that a batch header someone sent is canonical,
// that every blob header hashes to its key (docs/spec.md §3.2) and that the
// blobs' (key, R) hash to root (docs/spec.md §3.7). A header that passes is
// the batch's: the root commits to it. Whether its commitments are curve
// points is checked where they are used.
func VerifyBatchHeader(root da.Hash, h *da.BatchHeader) error {
	if h == nil {
		return fmt.Errorf("%w: no batch header", da.ErrHeader)
	}
	if err := h.Check(); err != nil {
		return err
	}
	if got := h.Root(); got != root {
		return fmt.Errorf("%w: the batch header hashes to root %s, not to %s", da.ErrHeader, got, root)
	}
	return nil
}

func (d *Dispatcher) meta(root da.Hash) *batchMeta {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.batches[root]
}

// acceptHeader checks a header against its root and caches it.
func (d *Dispatcher) acceptHeader(root da.Hash, h *da.BatchHeader) (*batchMeta, error) {
	if err := VerifyBatchHeader(root, h); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if m := d.batches[root]; m != nil {
		return m, nil
	}
	m := &batchMeta{hdr: h, data: encoder.KZGCommitments(h.Commitments())}
	if len(d.batches) >= cacheLimit {
		clear(d.batches)
	}
	d.batches[root] = m
	return m, nil
}

// BatchHeader returns a certified batch's header, from the cache or from a
// holder of the batch's window, checked against the root
// (VerifyBatchHeader). The result is shared: do not modify it.
func (d *Dispatcher) BatchHeader(ctx context.Context, root da.Hash) (*da.BatchHeader, error) {
	m, err := d.batchMeta(ctx, root)
	if err != nil {
		return nil, err
	}
	return m.hdr, nil
}

// RowCommitments returns the commitments of a certified batch's N dispersed
// rows (docs/spec.md §3.4): the header's data commitments and the parity
// ones derived from them, cached per batch. The result is shared: do not
// modify it.
func (d *Dispatcher) RowCommitments(ctx context.Context, root da.Hash) ([]kzg.Commitment, error) {
	m, err := d.batchMeta(ctx, root)
	if err != nil {
		return nil, err
	}
	all, err := m.commitments(d.kzg)
	if err != nil {
		return nil, fmt.Errorf("dispersal: batch %s: %w", root, err)
	}
	return all, nil
}

// batchMeta returns the batch's cached header, or asks the window's members
// for it in random order (a row request that wants the header: the rows are
// on disk at every holder, cells may not be).
func (d *Dispatcher) batchMeta(ctx context.Context, root da.Hash) (*batchMeta, error) {
	if m := d.meta(root); m != nil {
		return m, nil
	}
	loc, err := d.LocateBatch(ctx, root)
	if err != nil {
		return nil, err
	}
	type ask struct{ signer, row uint32 }
	var asks []ask
	seen := make(map[uint32]bool)
	for i := 0; i < loc.Window.S; i++ {
		if s := loc.Slots[loc.Window.Slot(i)]; !seen[s] {
			seen[s] = true
			asks = append(asks, ask{s, uint32(loc.Window.Row(i))})
		}
	}
	rand.Shuffle(len(asks), func(i, j int) { asks[i], asks[j] = asks[j], asks[i] })
	reg, err := d.Signers(ctx)
	if err != nil {
		return nil, err
	}
	var fails []string
	for _, a := range asks {
		if int(a.signer) >= len(reg) {
			fails = append(fails, fmt.Sprintf("signer %d: not in the registry", a.signer))
			continue
		}
		ans, err := d.Ask(ctx, reg[a.signer], da.ProtocolRow, &da.RowRequest{Root: root, Row: a.row, WantHeader: true}, da.MaxAnswerSize)
		if err == nil {
			r, ok := ans.(*da.RowResponse)
			switch {
			case !ok || r.Root != root || r.Row != a.row:
				err = fmt.Errorf("answered a row request with another message (%s)", ans.Type())
			case r.Header == nil:
				err = errors.New("the answer lacks the batch header that was asked for")
			default:
				var m *batchMeta
				if m, err = d.acceptHeader(root, r.Header); err == nil {
					return m, nil
				}
			}
		}
		fails = append(fails, fmt.Sprintf("signer %d: %v", a.signer, err))
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("%w: the header of batch %s from %d members of its window: %s", ErrUnavailable, root, len(asks), strings.Join(fails, "; "))
}

// FetchRow returns dispersed row n of a certified batch (4096 field
// elements), from the first holder whose row matches the row's commitment
// (docs/spec.md §3.4). The batch header that the check needs is asked for
// with the first row and accepted only if it checks against the root;
// holders that send bad data are skipped and named in the error.
func (d *Dispatcher) FetchRow(ctx context.Context, root da.Hash, n uint32) ([]fr.Element, error) {
	var out []fr.Element
	err := d.fetch(ctx, root, n, da.ProtocolRow, func(m *batchMeta) da.Message {
		return &da.RowRequest{Root: root, Row: n, WantHeader: m == nil}
	}, func(ans da.Message) (*da.BatchHeader, func(*batchMeta) error, error) {
		r, ok := ans.(*da.RowResponse)
		if !ok || r.Root != root || r.Row != n {
			return nil, nil, fmt.Errorf("answered a row request with another message (%s)", ans.Type())
		}
		return r.Header, func(m *batchMeta) error {
			c, err := m.commitment(d.kzg, n)
			if err != nil {
				return err
			}
			elems := make([]fr.Element, kzg.ScalarsPerRow)
			for i := range elems {
				e, err := kzg.ParseScalar(r.Data[i*kzg.BytesPerScalar : (i+1)*kzg.BytesPerScalar])
				if err != nil {
					return fmt.Errorf("bad row: element %d: %v", i, err)
				}
				elems[i] = e
			}
			got, err := d.kzg.Commit(elems)
			if err != nil {
				return err
			}
			if got != c {
				return errors.New("bad row: it does not match its commitment")
			}
			out = elems
			return nil
		}, nil
	})
	return out, err
}

// FetchCell returns cell c (64 field elements) of dispersed row n of a
// certified batch with its EIP-7594 proof, verified against the row's
// commitment (docs/spec.md §3.5).
func (d *Dispatcher) FetchCell(ctx context.Context, root da.Hash, n uint32, c uint16) ([]fr.Element, kzg.Proof, error) {
	if c >= da.CellsPerRow {
		return nil, kzg.Proof{}, fmt.Errorf("%w: cell %d, want below %d", ErrBadInput, c, da.CellsPerRow)
	}
	var out []fr.Element
	var proof kzg.Proof
	err := d.fetch(ctx, root, n, da.ProtocolCell, func(m *batchMeta) da.Message {
		return &da.CellRequest{Root: root, Row: n, Cell: c, WantHeader: m == nil}
	}, func(ans da.Message) (*da.BatchHeader, func(*batchMeta) error, error) {
		r, ok := ans.(*da.CellResponse)
		if !ok || r.Root != root || r.Row != n || r.Cell != c {
			return nil, nil, fmt.Errorf("answered a cell request with another message (%s)", ans.Type())
		}
		return r.Header, func(m *batchMeta) error {
			comm, err := m.commitment(d.kzg, n)
			if err != nil {
				return err
			}
			elems, err := kzg.ParseCell(r.Data)
			if err != nil {
				return fmt.Errorf("bad cell: %w", err)
			}
			p, err := kzg.ParseProof(r.Proof[:])
			if err != nil {
				return fmt.Errorf("bad cell proof: %w", err)
			}
			if err := d.kzg.VerifyCell(comm, uint64(c), elems, p); err != nil {
				return fmt.Errorf("bad cell: %w", err)
			}
			out, proof = elems, p
			return nil
		}, nil
	})
	return out, proof, err
}

// fetch asks row n's holders in random order, Config.Retries+1 rounds, until
// one answer passes its check. build makes the request (asking for the
// header while none is known); parse reads the answer's header and returns
// the check of its payload. A holder whose answer fails its check is not
// asked again.
func (d *Dispatcher) fetch(ctx context.Context, root da.Hash, n uint32, p protocol.ID,
	build func(*batchMeta) da.Message,
	parse func(da.Message) (*da.BatchHeader, func(*batchMeta) error, error)) error {
	loc, err := d.LocateBatch(ctx, root)
	if err != nil {
		return err
	}
	if int(n) >= loc.Window.N {
		return fmt.Errorf("%w: row %d of batch %s, which has %d dispersed rows", ErrBadInput, n, root, loc.Window.N)
	}
	holders := loc.Holders(n)
	rand.Shuffle(len(holders), func(i, j int) { holders[i], holders[j] = holders[j], holders[i] })
	reg, err := d.Signers(ctx)
	if err != nil {
		return err
	}
	var fails, liars []string
	lied := make(map[uint32]bool)
	notFound := 0
	backoff := d.cfg.Backoff
	for round := 0; round <= d.cfg.Retries; round++ {
		fails, notFound = fails[:0], 0
		asked := 0
		for _, h := range holders {
			if lied[h] {
				continue
			}
			asked++
			if int(h) >= len(reg) {
				fails = append(fails, fmt.Sprintf("signer %d: not in the registry", h))
				continue
			}
			bad, err := d.fetchFrom(ctx, root, reg[h], p, build, parse)
			if err == nil {
				return nil
			}
			if bad {
				lied[h] = true
				liars = append(liars, fmt.Sprintf("signer %d: %v", h, err))
				continue
			}
			if r := refusal(err); r != nil && r.Code == da.CodeNotFound {
				notFound++
			}
			fails = append(fails, fmt.Sprintf("signer %d: %v", h, err))
			if ctx.Err() != nil {
				return fmt.Errorf("%w: row %d of batch %s: %v (%s)", ErrUnavailable, n, root, ctx.Err(), strings.Join(append(liars, fails...), "; "))
			}
		}
		if asked == 0 || notFound == asked {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, d.cfg.MaxBackoff)
	}
	if len(liars) == 0 && notFound == len(holders) && len(holders) > 0 {
		return fmt.Errorf("%w: none of the %d holders of row %d of batch %s stores it", ErrNotFound, len(holders), n, root)
	}
	return fmt.Errorf("%w: row %d of batch %s from %d holders: %s", ErrUnavailable, n, root, len(holders), strings.Join(append(liars, fails...), "; "))
}

// fetchFrom asks one holder; bad reports an answer that arrived and failed
// its check (a wrong header or payload), as opposed to a failure to get one.
func (d *Dispatcher) fetchFrom(ctx context.Context, root da.Hash, info chain.SignerInfo, p protocol.ID,
	build func(*batchMeta) da.Message,
	parse func(da.Message) (*da.BatchHeader, func(*batchMeta) error, error)) (bad bool, err error) {
	m := d.meta(root)
	ans, err := d.Ask(ctx, info, p, build(m), da.MaxAnswerSize)
	if err != nil {
		return errors.Is(err, ErrMalformedAnswer), err
	}
	hdr, check, err := parse(ans)
	if err != nil {
		return true, err
	}
	if m == nil {
		if hdr == nil {
			return true, errors.New("the answer lacks the batch header that was asked for")
		}
		if m, err = d.acceptHeader(root, hdr); err != nil {
			return true, err
		}
	}
	if err := check(m); err != nil {
		return true, err
	}
	return false, nil
}

// Signers is the signer registry (by index), re-read from the chain at most
// every few seconds.
func (d *Dispatcher) Signers(ctx context.Context) ([]chain.SignerInfo, error) {
	d.mu.Lock()
	reg, at := d.signers, d.signAt
	d.mu.Unlock()
	if reg != nil && time.Since(at) < 5*time.Second {
		return reg, nil
	}
	reg, err := d.client.Signers(ctx)
	if err != nil {
		return nil, fmt.Errorf("dispersal: signer registry: %w", err)
	}
	d.mu.Lock()
	d.signers, d.signAt = reg, time.Now()
	d.mu.Unlock()
	return reg, nil
}
