package cuda

/*
#include "zgda_cuda.h"

typedef int (*zgda_host_alloc_fn)(int, size_t, void**, char*, size_t);
typedef void (*zgda_host_free_fn)(void*);

static int zgda_call_host_alloc(void* f, int dev, size_t n, void** p, char* msg, size_t len) {
	return ((zgda_host_alloc_fn)f)(dev, n, p, msg, len);
}
static void zgda_call_host_free(void* f, void* p) { ((zgda_host_free_fn)f)(p); }
*/
import "C"

import (
	"fmt"
	"sync"
	"unsafe"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/encoder"
)

// outputSets are the pinned host buffers (zgda_cuda_host_alloc) that
// ExtendBatchLent lends as a batch's parity rows. A set holds 3K rows for
// the batch that made it (K its matrix rows), is lent to one batch at a
// time and reused, once released, by a batch that fits; a batch too large
// for every free set replaces the smallest one. At most max exist. b.mu
// guards everything but the library calls, looked up by newBackend.
// Sets are allocated while a batcher warms up or its batches grow, not in
// the steady state, so the allocation runs under b.mu.
type outputSets struct {
	max             int
	sets            []*outputSet
	allocFn, freeFn unsafe.Pointer
	allocs, lends   int   // sets allocated and lendings, for tests
	allocErr        error // why the last set could not be allocated, if one could not
}

// outputSet is one pinned buffer of rows·ElementsPerRow elements.
type outputSet struct {
	base unsafe.Pointer
	rows int
	view [][]fr.Element // its rows, each capped at its end
	lent bool
}

// lendOutput lends a set holding n rows; nil (no error) when every set is
// lent and none may be added, or when no pinned memory can be had for a
// new one (outputSets.allocErr says why): the batch then uses Go memory.
func (b *Backend) lendOutput(n int) (*outputSet, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ErrClosed
	}
	o := &b.outs
	var fit, small *outputSet
	for _, s := range o.sets {
		switch {
		case s.lent:
		case s.rows >= n && (fit == nil || s.rows < fit.rows):
			fit = s
		case s.rows < n && (small == nil || s.rows < small.rows):
			small = s
		}
	}
	if fit == nil {
		if len(o.sets) >= o.max && small == nil {
			return nil, nil
		}
		var err error
		if fit, err = b.allocOutputLocked(3 * da.MatrixRows(n/3)); err != nil {
			o.allocErr = err
			return nil, nil
		}
		if len(o.sets) > o.max {
			b.freeOutputLocked(small) // replaced, once its successor exists
		}
	}
	fit.lent = true
	o.lends++
	return fit, nil
}

func (b *Backend) allocOutputLocked(rows int) (*outputSet, error) {
	o := &b.outs
	var msg [msgLen]byte
	var p unsafe.Pointer
	const rowBytes = encoder.ElementsPerRow * int(unsafe.Sizeof(fr.Element{}))
	rc := C.zgda_call_host_alloc(o.allocFn, C.int(b.device), C.size_t(rows*rowBytes), &p,
		(*C.char)(unsafe.Pointer(&msg[0])), C.size_t(len(msg)))
	if rc != C.ZGDA_OK {
		return nil, fmt.Errorf("pinned output set of %d rows: %w", rows, codeErr(rc, cString(msg[:])))
	}
	all := unsafe.Slice((*fr.Element)(p), rows*encoder.ElementsPerRow)
	s := &outputSet{base: p, rows: rows, view: make([][]fr.Element, rows)}
	for i := range s.view {
		s.view[i] = all[i*encoder.ElementsPerRow : (i+1)*encoder.ElementsPerRow : (i+1)*encoder.ElementsPerRow]
	}
	o.sets = append(o.sets, s)
	o.allocs++
	return s, nil
}

// freeOutputLocked frees a set that is not lent.
func (b *Backend) freeOutputLocked(s *outputSet) {
	o := &b.outs
	for i, t := range o.sets {
		if t == s {
			o.sets = append(o.sets[:i], o.sets[i+1:]...)
			break
		}
	}
	C.zgda_call_host_free(o.freeFn, s.base)
	s.base, s.view = nil, nil
}

// returnOutput takes back a lent set: reused by a later batch, or freed
// when the backend has been closed meanwhile.
func (b *Backend) returnOutput(s *outputSet) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !s.lent {
		panic("cuda: an output set returned twice")
	}
	s.lent = false
	if b.closed {
		b.freeOutputLocked(s)
	}
}

// releaser is the release func of a lent set: the first call returns it,
// later ones do nothing.
func (b *Backend) releaser(s *outputSet) func() {
	var once sync.Once
	return func() { once.Do(func() { b.returnOutput(s) }) }
}

// freeOutputs frees the sets not lent (Close); lent ones are freed when
// returned.
func (b *Backend) freeOutputs() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, s := range append([]*outputSet(nil), b.outs.sets...) {
		if !s.lent {
			b.freeOutputLocked(s)
		}
	}
}

// OutputSetErr is why the last pinned output set could not be allocated
// (its batch then used Go memory), or nil if none failed.
func (b *Backend) OutputSetErr() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.outs.allocErr
}

// OutputSets reports the pinned output sets: how many exist, how many are
// lent now, and how many batches have been lent one so far.
func (b *Backend) OutputSets() (sets, lent, lends int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, s := range b.outs.sets {
		if s.lent {
			lent++
		}
	}
	return len(b.outs.sets), lent, b.outs.lends
}
