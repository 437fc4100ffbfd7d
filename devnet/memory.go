package devnet

// MemoryBudget is the disperser's configured memory budget
// (engine.Config.MemoryBudget); the DA nodes and the chain, in the same
// process, come on top.
func (n *Network) MemoryBudget() int64 {
	c := n.engineConfig()
	return c.MemoryBudget()
}
