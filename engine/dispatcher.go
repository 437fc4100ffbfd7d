package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/dispersal"
	"github.com/zgda/zgda/encoder"
)

// ErrBatchTooLarge is what a Disperser wraps when a batch cannot be
// dispersed as a whole (a node's share over the wire limit) though smaller
// batches could be: the engine then splits the batch in two and goes on.
var ErrBatchTooLarge = errors.New("engine: batch too large to disperse at once")

// FromDispatcher adapts a dispersal.Dispatcher to the engine's Disperser.
func FromDispatcher(d *dispersal.Dispatcher) Disperser { return dispatcherAdapter{d} }

type dispatcherAdapter struct{ d *dispersal.Dispatcher }

var _ Disperser = dispatcherAdapter{}

func (a dispatcherAdapter) Disperse(ctx context.Context, blobs []*encoder.Encoded) (*da.Certificate, error) {
	cert, _, err := a.d.Disperse(ctx, blobs)
	if errors.Is(err, dispersal.ErrBadInput) && len(blobs) > 1 {
		return nil, fmt.Errorf("%w: %v", ErrBatchTooLarge, err)
	}
	return cert, err
}

// FetchRow ignores cert: the Dispatcher finds the certificate on the chain.
func (a dispatcherAdapter) FetchRow(ctx context.Context, _ *da.Certificate, key da.BlobKey, row int) ([]fr.Element, error) {
	if row < 0 {
		return nil, fmt.Errorf("row %d", row)
	}
	return a.d.FetchRow(ctx, key, uint32(row))
}
