package devnet

import "github.com/zgda/zgda/da"

// nodeMemory is the allowance for one DA node in the devnet's process: a
// dispersal of a full batch being verified and stored (its rows as
// received and as field elements), and for the chain.
const (
	nodeMemory  = 2 * da.MaxDispersedRows * 4096 * 32
	chainMemory = 128 << 20
)

// MemoryBudget is what the devnet's process may hold: the disperser's
// configured budget (engine.Config.MemoryBudget) plus an allowance per DA
// node and for the chain, all of which run in this process. `zgda devnet`
// sets the Go runtime's memory limit to it unless GOMEMLIMIT is set.
func (n *Network) MemoryBudget() int64 {
	c := n.engineConfig()
	return c.MemoryBudget() + int64(len(n.nodes))*nodeMemory + chainMemory
}
