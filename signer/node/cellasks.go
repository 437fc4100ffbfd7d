package node

import (
	"math/bits"
	"sync"
)

// maxAskedRows bounds the rows whose asked cells are tracked. When it is
// reached the counts start again: a row then reaches rowCellsAfter later,
// which costs single-cell proofs, never a wrong answer.
const maxAskedRows = 1 << 14

// cellAsks remembers which cells have been asked of rows whose cells are not
// cached, so that Cell knows when a row is sampled heavily enough for FK20.
type cellAsks struct {
	mu   sync.Mutex
	rows map[string]*[2]uint64 // cells-key → bitmap of the 128 cells asked
}

// ask records that cell was asked of the row under key and returns how many
// distinct cells of it have been asked, this one included.
func (a *cellAsks) ask(key string, cell uint16) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	m := a.rows[key]
	if m == nil {
		if a.rows == nil || len(a.rows) >= maxAskedRows {
			a.rows = make(map[string]*[2]uint64)
		}
		m = new([2]uint64)
		a.rows[key] = m
	}
	m[cell/64&1] |= 1 << (cell % 64)
	return bits.OnesCount64(m[0]) + bits.OnesCount64(m[1])
}

// forget drops a row once its cells are cached.
func (a *cellAsks) forget(key string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.rows, key)
}
