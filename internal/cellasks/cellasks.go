// Package cellasks decides when a row's cells are worth computing whole.
//
// A sample is one cell of one row with its proof. Proving one cell costs
// one MSM (kzg.ComputeCellAndProof, about 1/7 of FK20 on 2 cores); FK20
// proves all 128 at once. A sampler asks a few cells of many rows, so a
// fresh row is answered cell by cell, and only a row asked for RowAfter
// distinct cells is computed whole and cached, which its later requests
// then amortise. DA nodes and the disperser share this rule.
package cellasks

import (
	"math/bits"
	"sync"
)

// RowAfter is how many distinct cells of a row are asked before the row's
// 128 cells are computed with FK20 and cached.
const RowAfter = 8

// maxRows bounds the rows tracked. When it is reached the counts start
// again: a row then reaches RowAfter later, which costs single-cell proofs,
// never a wrong answer.
const maxRows = 1 << 14

// Tracker remembers which cells have been asked of rows whose cells are not
// cached. The zero value is ready to use; it is safe for concurrent use.
type Tracker struct {
	mu   sync.Mutex
	rows map[string]*[2]uint64 // row key → bitmap of the 128 cells asked
}

// Ask records that cell was asked of the row under key and returns how many
// distinct cells of it have been asked, this one included.
func (a *Tracker) Ask(key string, cell uint16) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	m := a.rows[key]
	if m == nil {
		if a.rows == nil || len(a.rows) >= maxRows {
			a.rows = make(map[string]*[2]uint64)
		}
		m = new([2]uint64)
		a.rows[key] = m
	}
	m[cell/64&1] |= 1 << (cell % 64)
	return bits.OnesCount64(m[0]) + bits.OnesCount64(m[1])
}

// Forget drops a row once its cells are cached.
func (a *Tracker) Forget(key string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.rows, key)
}
