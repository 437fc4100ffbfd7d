package dispersal

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/zgda/zgda/chain"
	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/kzg"
)

// Location is where a certified blob lives: a quorum of an epoch.
type Location struct {
	Epoch  uint64
	Quorum uint32
	Rows   uint32    // K
	Slots  da.Quorum // the quorum's slot → signer map
	Height int64     // the block that recorded the certificate
}

// Holders lists the distinct signers whose slots hold extended row row.
func (l *Location) Holders(key da.BlobKey, row uint32) []uint32 {
	var out []uint32
	seen := make(map[uint32]bool)
	for _, a := range l.Slots.BlobAssignments(key, l.Rows) {
		if a.Row == row && !seen[a.Signer] {
			seen[a.Signer] = true
			out = append(out, a.Signer)
		}
	}
	return out
}

// blobMeta is a header that hashed to its key, with the derived
// commitments of all 4K rows.
type blobMeta struct {
	hdr     *da.BlobHeader
	derived []kzg.Commitment
}

// cacheLimit bounds the Dispatcher's per-blob caches.
const cacheLimit = 4096

// Locate finds a certified blob's epoch and quorum through its certificate on
// the chain.
func (d *Dispatcher) Locate(ctx context.Context, key da.BlobKey) (*Location, error) {
	d.mu.Lock()
	loc, ok := d.locs[key]
	d.mu.Unlock()
	if ok {
		return loc, nil
	}
	rec, err := d.client.CertificateForBlob(ctx, key)
	if chain.IsNotFound(err) {
		return nil, fmt.Errorf("%w: the chain has no certificate naming blob %s", ErrNotFound, key)
	}
	if err != nil {
		return nil, fmt.Errorf("dispersal: looking up blob %s: %w", key, err)
	}
	c := &rec.Certificate
	loc = &Location{Epoch: c.Epoch, Quorum: c.Quorum, Height: rec.Height}
	for _, b := range c.Blobs {
		if b.Key == key {
			loc.Rows = b.Rows
		}
	}
	ep, err := d.client.Epoch(ctx, c.Epoch)
	if err != nil {
		return nil, fmt.Errorf("dispersal: epoch %d of blob %s: %w", c.Epoch, key, err)
	}
	if int(c.Quorum) >= len(ep.Quorums) || loc.Rows == 0 {
		return nil, fmt.Errorf("dispersal: the certificate of blob %s names quorum %d of epoch %d, which has %d", key, c.Quorum, c.Epoch, len(ep.Quorums))
	}
	loc.Slots = ep.Quorums[c.Quorum]
	d.mu.Lock()
	if len(d.locs) >= cacheLimit {
		clear(d.locs)
	}
	d.locs[key] = loc
	d.mu.Unlock()
	return loc, nil
}

// FetchRow returns extended row row of a certified blob (4096 field
// elements), from the first holder whose row matches the blob's commitment.
// The header that the check needs is fetched with the first row and
// accepted only if it hashes to the key.
func (d *Dispatcher) FetchRow(ctx context.Context, key da.BlobKey, row uint32) ([]fr.Element, error) {
	var out []fr.Element
	err := d.fetch(ctx, key, row, da.ProtocolRow, func(meta *blobMeta) da.Message {
		return &da.RowRequest{Key: key, Row: row, WantHeader: meta == nil}
	}, func(ans da.Message) (*da.BlobHeader, func(*blobMeta) error, error) {
		r, ok := ans.(*da.RowResponse)
		if !ok || r.Key != key || r.Row != row {
			return nil, nil, fmt.Errorf("answered a row request with another message (%s)", ans.Type())
		}
		return r.Header, func(meta *blobMeta) error {
			elems := make([]fr.Element, kzg.ScalarsPerRow)
			for i := range elems {
				e, err := kzg.ParseScalar(r.Data[i*32 : (i+1)*32])
				if err != nil {
					return fmt.Errorf("row element %d: %v", i, err)
				}
				elems[i] = e
			}
			bad, err := d.kzg.VerifyRows([][]fr.Element{elems}, []kzg.Commitment{meta.derived[row]})
			if err != nil {
				return err
			}
			if len(bad) > 0 {
				return errors.New("the row does not match its commitment")
			}
			out = elems
			return nil
		}, nil
	})
	return out, err
}

// FetchCell returns cell cell (64 field elements) of extended row row of a
// certified blob with its EIP-7594 proof, verified against the row's
// commitment.
func (d *Dispatcher) FetchCell(ctx context.Context, key da.BlobKey, row uint32, cell uint16) ([]fr.Element, kzg.Proof, error) {
	if cell >= da.CellsPerRow {
		return nil, kzg.Proof{}, fmt.Errorf("%w: cell %d, want below %d", ErrBadInput, cell, da.CellsPerRow)
	}
	var out []fr.Element
	var proof kzg.Proof
	err := d.fetch(ctx, key, row, da.ProtocolCell, func(meta *blobMeta) da.Message {
		return &da.CellRequest{Key: key, Row: row, Cell: cell, WantHeader: meta == nil}
	}, func(ans da.Message) (*da.BlobHeader, func(*blobMeta) error, error) {
		r, ok := ans.(*da.CellResponse)
		if !ok || r.Key != key || r.Row != row || r.Cell != cell {
			return nil, nil, fmt.Errorf("answered a cell request with another message (%s)", ans.Type())
		}
		return r.Header, func(meta *blobMeta) error {
			elems, err := kzg.ParseCell(r.Data)
			if err != nil {
				return err
			}
			p, err := kzg.ParseProof(r.Proof[:])
			if err != nil {
				return err
			}
			if err := d.kzg.VerifyCell(meta.derived[row], uint64(cell), elems, p); err != nil {
				return err
			}
			out, proof = elems, p
			return nil
		}, nil
	})
	return out, proof, err
}

// fetch asks the row's holders in random order, Config.Retries+1 rounds,
// until one answer passes check. build makes the request (asking for the
// header while none is known); parse reads the answer's header and returns
// the check of its payload.
func (d *Dispatcher) fetch(ctx context.Context, key da.BlobKey, row uint32, p protocol.ID,
	build func(*blobMeta) da.Message,
	parse func(da.Message) (*da.BlobHeader, func(*blobMeta) error, error)) error {
	loc, err := d.Locate(ctx, key)
	if err != nil {
		return err
	}
	if row >= da.ExtensionFactor*loc.Rows {
		return fmt.Errorf("%w: row %d of blob %s, which has %d", ErrBadInput, row, key, da.ExtensionFactor*loc.Rows)
	}
	holders := loc.Holders(key, row)
	rand.Shuffle(len(holders), func(i, j int) { holders[i], holders[j] = holders[j], holders[i] })
	reg, err := d.Signers(ctx)
	if err != nil {
		return err
	}
	var fails []string
	notFound := 0
	backoff := d.cfg.Backoff
	for round := 0; round <= d.cfg.Retries; round++ {
		fails, notFound = fails[:0], 0
		for _, h := range holders {
			if int(h) >= len(reg) {
				fails = append(fails, fmt.Sprintf("signer %d: not in the registry", h))
				continue
			}
			err := d.fetchFrom(ctx, key, reg[h], p, build, parse)
			if err == nil {
				return nil
			}
			if r := refusal(err); r != nil && r.Code == da.CodeNotFound {
				notFound++
			}
			fails = append(fails, fmt.Sprintf("signer %d: %v", h, err))
			if ctx.Err() != nil {
				return fmt.Errorf("%w: row %d of blob %s: %v (%s)", ErrUnavailable, row, key, ctx.Err(), strings.Join(fails, "; "))
			}
		}
		if notFound == len(holders) {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, d.cfg.MaxBackoff)
	}
	if notFound == len(holders) && len(holders) > 0 {
		return fmt.Errorf("%w: none of the %d holders of row %d of blob %s stores it", ErrNotFound, len(holders), row, key)
	}
	return fmt.Errorf("%w: row %d of blob %s from %d holders: %s", ErrUnavailable, row, key, len(holders), strings.Join(fails, "; "))
}

func (d *Dispatcher) fetchFrom(ctx context.Context, key da.BlobKey, info chain.SignerInfo, p protocol.ID,
	build func(*blobMeta) da.Message,
	parse func(da.Message) (*da.BlobHeader, func(*blobMeta) error, error)) error {
	meta := d.header(key)
	ans, err := d.Ask(ctx, info, p, build(meta), da.MaxAnswerSize)
	if err != nil {
		return err
	}
	hdr, check, err := parse(ans)
	if err != nil {
		return err
	}
	if meta == nil {
		if hdr == nil {
			return errors.New("the answer lacks the blob header that was asked for")
		}
		if meta, err = d.acceptHeader(key, hdr); err != nil {
			return err
		}
	}
	return check(meta)
}

func (d *Dispatcher) header(key da.BlobKey) *blobMeta {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.headers[key]
}

// acceptHeader checks a header (VerifyHeader), derives the 4K commitments
// and caches them.
func (d *Dispatcher) acceptHeader(key da.BlobKey, h *da.BlobHeader) (*blobMeta, error) {
	data, err := VerifyHeader(key, h)
	if err != nil {
		return nil, err
	}
	derived, err := d.kzg.DeriveCommitments(data)
	if err != nil {
		return nil, err
	}
	meta := &blobMeta{hdr: h, derived: derived}
	d.mu.Lock()
	if len(d.headers) >= cacheLimit {
		clear(d.headers)
	}
	d.headers[key] = meta
	d.mu.Unlock()
	return meta, nil
}

// VerifyHeader checks that a blob header someone sent agrees with the codec
// and hashes to key, and returns its data commitments C_0 … C_{K−1}. A header
// that passes is the blob's: the key commits to it.
func VerifyHeader(key da.BlobKey, h *da.BlobHeader) ([]kzg.Commitment, error) {
	p, err := encoder.ParamsFor(int(h.Length))
	if err != nil || uint32(p.K) != h.Rows || len(h.Commitments) != p.K {
		return nil, fmt.Errorf("the header's K = %d (%d commitments) does not fit its length %d", h.Rows, len(h.Commitments), h.Length)
	}
	data := make([]kzg.Commitment, len(h.Commitments))
	for i, c := range h.Commitments {
		data[i] = kzg.Commitment(c)
	}
	if got := encoder.BlobKey(int(h.Length), data); got != key {
		return nil, fmt.Errorf("the header hashes to %s, not to the blob key", got)
	}
	return data, nil
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

// Header returns a blob's verified header, fetching it with row 0 if it is
// not cached.
func (d *Dispatcher) Header(ctx context.Context, key da.BlobKey) (*da.BlobHeader, error) {
	if m := d.header(key); m != nil {
		return m.hdr, nil
	}
	if _, err := d.FetchRow(ctx, key, 0); err != nil {
		return nil, err
	}
	return d.header(key).hdr, nil
}
