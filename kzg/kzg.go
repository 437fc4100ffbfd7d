package kzg

import (
	"context"
	"encoding/hex"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

	"github.com/zgda/zgda/kzg/internal/msm"
)

// Sizes fixed by EIP-4844 and EIP-7594.
const (
	ScalarsPerRow    = 4096 // field elements in a row (an EIP-4844 blob)
	ScalarsPerExtRow = 8192 // after the ×2 row extension
	CellsPerRow      = 128  // EIP-7594 cells per extended row
	ScalarsPerCell   = 64   // field elements per cell
	BytesPerScalar   = 32
	BytesPerCell     = ScalarsPerCell * BytesPerScalar
	CommitmentSize   = 48
	ProofSize        = 48
	commitWindowBits = 14 // fixed-base windows for row commitments (see BenchmarkMultiExp in internal/msm)
	fk20WindowBits   = 8  // fixed-base windows for the 128 FK20 MSMs of 64 bases
)

// Commitment is a compressed G1 point (48 bytes, ZCash encoding as in
// EIP-4844).
type Commitment [CommitmentSize]byte

// Proof is a compressed G1 point (48 bytes).
type Proof [ProofSize]byte

// String renders the commitment as 0x-prefixed lowercase hex.
func (c Commitment) String() string { return "0x" + hex.EncodeToString(c[:]) }

// MarshalText renders the commitment as 0x-prefixed lowercase hex.
func (c Commitment) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// String renders the proof as 0x-prefixed lowercase hex.
func (p Proof) String() string { return "0x" + hex.EncodeToString(p[:]) }

// MarshalText renders the proof as 0x-prefixed lowercase hex.
func (p Proof) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// Context holds the trusted setup and the tables precomputed over it. Tables
// are built on first use; a Context is safe for concurrent use.
type Context struct {
	workers int

	setupOnce sync.Once
	setup     *setup
	setupErr  error

	commitOnce sync.Once
	commitTab  *msm.Table
	commitErr  error

	domOnce sync.Once
	doms    *rowDomains

	fk20Once sync.Once
	fk20     *fk20
	fk20Err  error

	cellOnce sync.Once
	cellTab  *msm.Table
	cellErr  error
}

// Option configures a Context.
type Option func(*Context)

// WithWorkers sets how many goroutines a Context uses for one call
// (0 = GOMAXPROCS).
func WithWorkers(n int) Option { return func(c *Context) { c.workers = n } }

// NewContext returns a Context over the embedded Ethereum trusted setup.
func NewContext(opts ...Option) *Context {
	c := &Context{}
	for _, o := range opts {
		o(c)
	}
	if c.workers <= 0 {
		c.workers = runtime.GOMAXPROCS(0)
	}
	return c
}

var defaultContext = sync.OnceValue(func() *Context { return NewContext() })

// Default returns the process-wide Context (all CPUs), so that tables are
// built once however many packages commit.
func Default() *Context { return defaultContext() }

func (c *Context) loadSetup() (*setup, error) {
	c.setupOnce.Do(func() { c.setup, c.setupErr = parseSetup(trustedSetupJSON) })
	return c.setup, c.setupErr
}

func (c *Context) commitTable() (*msm.Table, error) {
	c.commitOnce.Do(func() {
		s, err := c.loadSetup()
		if err != nil {
			c.commitErr = err
			return
		}
		c.commitTab, c.commitErr = msm.NewTable(s.lagrange, commitWindowBits, c.workers)
	})
	return c.commitTab, c.commitErr
}

// Warm builds the commitment tables now instead of on the first call, so
// that a daemon pays the set-up cost at start rather than on a request.
func (c *Context) Warm() error {
	_, err := c.commitTable()
	return err
}

// Commit returns EIP-4844 blob_to_kzg_commitment of one row (4096 field
// elements in evaluation form, bit-reversed order). The work is split over
// the Context's workers.
func (c *Context) Commit(row []fr.Element) (Commitment, error) {
	if len(row) != ScalarsPerRow {
		return Commitment{}, fmt.Errorf("%w: got %d", ErrRowLength, len(row))
	}
	out, err := c.CommitRows(context.Background(), [][]fr.Element{row}, nil)
	if err != nil {
		return Commitment{}, err
	}
	return out[0], nil
}

// CommitRows commits to every row, on all the Context's workers whatever
// the number of rows: rows are handed out whole while each worker still gets
// one, and the rows left over (fewer than the workers: all of them for a
// single row) are split into one part per worker (msm.MultiExpPart), so
// that no core idles at the tail. progress, if not nil, is called after each
// row with the number done so far (from several goroutines, so it must be
// safe for concurrent use). It stops early and returns ctx's error when ctx
// is done.
func (c *Context) CommitRows(ctx context.Context, rows [][]fr.Element, progress func(done int)) ([]Commitment, error) {
	for i, r := range rows {
		if len(r) != ScalarsPerRow {
			return nil, fmt.Errorf("%w: row %d has %d", ErrRowLength, i, len(r))
		}
	}
	tab, err := c.commitTable()
	if err != nil {
		return nil, err
	}
	out := make([]Commitment, len(rows))
	w := c.workers
	whole := len(rows) - len(rows)%w // rows committed by one worker each
	split := len(rows) - whole       // rows split into w parts
	units := whole + split*w
	parts := make([]bls.G1Jac, split*w)
	pending := make([]atomic.Int32, split) // parts of a split row not yet done
	var next, done atomic.Int64
	finish := func(i int, jac *bls.G1Jac) {
		var p bls.G1Affine
		p.FromJacobian(jac)
		out[i] = p.Bytes()
		n := done.Add(1)
		if progress != nil {
			progress(int(n))
		}
	}
	var wg sync.WaitGroup
	for range min(w, units) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				u := int(next.Add(1) - 1)
				if u >= units || ctx.Err() != nil {
					return
				}
				if u < whole {
					jac, err := tab.MultiExp(rows[u])
					if err != nil { // lengths were checked above
						panic(err)
					}
					finish(u, &jac)
					continue
				}
				k := u - whole
				r, part := k/w, k%w
				jac, err := tab.MultiExpPart(rows[whole+r], part, w)
				if err != nil {
					panic(err)
				}
				parts[k] = jac
				// The last part to finish sums them; the atomic orders
				// the other parts' writes before its reads.
				if pending[r].Add(1) == int32(w) {
					sum := parts[r*w]
					for q := 1; q < w; q++ {
						sum.AddAssign(&parts[r*w+q])
					}
					finish(whole+r, &sum)
				}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// ParseCommitment decodes a commitment from outside: 48 bytes, a valid
// compressed encoding of a point on the curve and in the prime-order
// subgroup (the point at infinity is the commitment of the zero row).
func ParseCommitment(b []byte) (Commitment, error) {
	if _, err := decodePoint("commitment", -1, b); err != nil {
		return Commitment{}, err
	}
	return Commitment(b), nil
}

// ParseProof decodes a proof from outside, with the same checks.
func ParseProof(b []byte) (Proof, error) {
	if _, err := decodePoint("proof", -1, b); err != nil {
		return Proof{}, err
	}
	return Proof(b), nil
}

// decodePoint returns the affine point of 48 compressed bytes, with every
// check; what and index name the input in the error.
func decodePoint(what string, index int, b []byte) (bls.G1Affine, error) {
	var p bls.G1Affine
	if len(b) != bls.SizeOfG1AffineCompressed {
		return p, &PointError{What: what, Index: index, Reason: fmt.Sprintf("want %d bytes, got %d", bls.SizeOfG1AffineCompressed, len(b))}
	}
	if b[0]&0x80 == 0 {
		return p, &PointError{What: what, Index: index, Reason: "not in compressed form (top bit clear)"}
	}
	// SetBytes checks the encoding, that x is canonical, that the point is
	// on the curve and that it is in the subgroup.
	if _, err := p.SetBytes(b); err != nil {
		return p, &PointError{What: what, Index: index, Reason: err.Error()}
	}
	return p, nil
}

// ParseScalar decodes a 32-byte big-endian field element and rejects values
// ≥ the scalar modulus (EIP-4844 bytes_to_bls_field).
func ParseScalar(b []byte) (fr.Element, error) {
	var e fr.Element
	if len(b) != BytesPerScalar {
		return e, fmt.Errorf("%w: want %d bytes, got %d", ErrNonCanonicalScalar, BytesPerScalar, len(b))
	}
	if err := e.SetBytesCanonical(b); err != nil {
		return e, fmt.Errorf("%w: %v", ErrNonCanonicalScalar, err)
	}
	return e, nil
}

// ParseCell decodes a 2048-byte cell into its 64 field elements.
func ParseCell(b []byte) ([]fr.Element, error) {
	if len(b) != BytesPerCell {
		return nil, fmt.Errorf("%w: cell must be %d bytes, got %d", ErrBadArgument, BytesPerCell, len(b))
	}
	out := make([]fr.Element, ScalarsPerCell)
	for i := range out {
		e, err := ParseScalar(b[i*BytesPerScalar : (i+1)*BytesPerScalar])
		if err != nil {
			return nil, fmt.Errorf("cell element %d: %w", i, err)
		}
		out[i] = e
	}
	return out, nil
}

// CellBytes serialises a cell's 64 field elements (32-byte big-endian each).
func CellBytes(cell []fr.Element) []byte {
	out := make([]byte, 0, len(cell)*BytesPerScalar)
	for i := range cell {
		b := cell[i].Bytes()
		out = append(out, b[:]...)
	}
	return out
}

// UnmarshalText parses 0x-prefixed hex. It checks the form only; pass the
// result to ParseCommitment before trusting it as a point.
func (c *Commitment) UnmarshalText(b []byte) error {
	s := string(b)
	if len(s) != 2+2*CommitmentSize || s[:2] != "0x" {
		return fmt.Errorf("%w: commitment %.20q…: want 0x and %d hex digits", ErrInvalidPoint, s, 2*CommitmentSize)
	}
	if _, err := hex.Decode(c[:], b[2:]); err != nil {
		return fmt.Errorf("%w: commitment: %v", ErrInvalidPoint, err)
	}
	return nil
}
