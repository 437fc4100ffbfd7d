package node

import (
	"context"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/internal/cellasks"
	"github.com/zgda/zgda/internal/flight"
)

// Test hooks: fault injection is reachable from tests only, never from a
// config file or the command line.

// WithBadSignature makes the node answer dispersals with a well-formed BLS
// signature over the wrong message.
func WithBadSignature() Option { return func(o *options) { o.fault = faultBadSignature } }

// WithSilence makes the node read dispersal requests and never answer.
func WithSilence() Option { return func(o *options) { o.fault = faultSilent } }

// ServeRows installs the node's own row handler again (after a test
// replaced it through Host).
func (n *Node) ServeRows() { n.serve(da.ProtocolRow, n.handleRow) }

// LastVerifyChecks is the number of random-linear-combination checks
// (kzg.VerifyBatchRows) that the last verified dispersal request took.
func (n *Node) LastVerifyChecks() int { return int(n.lastChecks.Load()) }

// CountKeys counts the stored keys under a prefix ("row/", "hdr/", "proofs/").
func (n *Node) CountKeys(ctx context.Context, prefix string) int {
	it, err := n.store.NewIter(ctx, []byte(prefix))
	if err != nil {
		panic(err)
	}
	defer it.Close()
	c := 0
	for it.Next() {
		c++
	}
	if err := it.Err(); err != nil {
		panic(err)
	}
	return c
}

// Occupy takes every dispersal slot, so that the next request is answered
// Busy; release gives them back.
func (n *Node) Occupy() (release func()) {
	for i := 0; i < cap(n.sem); i++ {
		n.sem <- struct{}{}
	}
	return func() {
		for i := 0; i < cap(n.sem); i++ {
			<-n.sem
		}
	}
}

// PendingDispersals is the number of dispersal requests past their frame
// header and not yet answered.
func (n *Node) PendingDispersals() int { return int(n.pending.Load()) }

// CellAnswers is the number of cells served by path: "single", "row" or
// "cached" (see Cell).
func (n *Node) CellAnswers(path string) int {
	return int(testutil.ToFloat64(n.metrics.cellPaths.WithLabelValues(path)))
}

// RowCellsAfter is how many distinct cells of a row are asked before it is
// computed whole and cached.
const RowCellsAfter = cellasks.RowAfter

// DropCellCache empties the in-memory cell cache, as a restart would.
func (n *Node) DropCellCache() {
	n.cells = flight.New[cellRowKey](n.cfg.Limits.CellCacheBytes, (*rowCells).size)
}
