package engine

import (
	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/encoder"
)

// Memory the budget adds to what the configuration bounds.
const (
	// fixedMemory: the KZG tables (commitments and FK20), the trusted
	// setup, the store's caches and the runtime.
	fixedMemory = 192 << 20
	// cellEntryMemory: one row's 128 cells and proofs as cached.
	cellEntryMemory = 300 << 10
	// rebuildMemory: one rebuild holds at most D ≤ 256 fetched rows and the
	// decoded matrix beside them.
	rebuildMemory = 3 * encoder.MaxBatchRows * rowMem
)

// MemoryBudget is the most memory the engine's configuration lets it hold
// at once, in bytes: blobs in encoder form (Queue.MaxPendingBytes), the
// serialised copy of the rows of every batch being dispersed
// (Dispersal.Concurrency batches of up to da.MaxDispersedRows rows),
// request bodies being received (API.MaxBodyBytesInFlight), the read caches
// (Retrieval.CacheBytes, BlockCacheBytes, CellCacheRows) and the rebuilds running
// (Retrieval.MaxHeavy), plus a fixed allowance. `zgda serve` and
// `zgda devnet` set the Go runtime's memory limit to it unless GOMEMLIMIT
// is set, so that the collector works harder before the process outgrows
// what the operator configured.
func (c *Config) MemoryBudget() int64 {
	return c.Queue.MaxPendingBytes +
		int64(c.Dispersal.Concurrency)*da.MaxDispersedRows*rowMem +
		c.API.MaxBodyBytesInFlight +
		c.Retrieval.CacheBytes + c.Retrieval.BlockCacheBytes + int64(c.Retrieval.CellCacheRows)*cellEntryMemory +
		int64(c.Retrieval.MaxHeavy)*rebuildMemory +
		fixedMemory
}
