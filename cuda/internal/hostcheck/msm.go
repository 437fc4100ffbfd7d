package hostcheck

/*
#include "msm.h"
*/
import "C"

import (
	"fmt"
	"unsafe"

	bls12381 "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fp"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
)

// MSMPoint mirrors msm.cuh's msm_point (the C ABI's zgda_msm_point).
type MSMPoint struct {
	X, Y     fp.Element
	Infinity uint64
}

func init() {
	if unsafe.Sizeof(MSMPoint{}) != 104 {
		panic("hostcheck: MSMPoint is not 104 bytes")
	}
}

// Affine converts the result to gnark's form (infinity is (0, 0)).
func (p MSMPoint) Affine() bls12381.G1Affine {
	if p.Infinity != 0 {
		return bls12381.G1Affine{}
	}
	return bls12381.G1Affine{X: p.X, Y: p.Y}
}

// MSMTable is the fixed-base table of msm.cuh over some bases.
type MSMTable struct {
	n   int
	pts []bls12381.G1Affine // windows·n, T[k·n + i] = 2^(c·k)·P_i
}

// NewMSMTable builds the table the kernels upload, on the host.
func NewMSMTable(bases []bls12381.G1Affine) *MSMTable {
	if len(bases) == 0 {
		panic("hostcheck: NewMSMTable with no bases")
	}
	t := &MSMTable{n: len(bases), pts: make([]bls12381.G1Affine, int(C.hc_msm_windows())*len(bases))}
	C.hc_msm_table(unsafe.Pointer(&bases[0]), C.uint32_t(len(bases)), unsafe.Pointer(&t.pts[0]))
	return t
}

// Entry returns T[k·n + i] = 2^(c·k)·P_i.
func (t *MSMTable) Entry(k, i int) bls12381.G1Affine { return t.pts[k*t.n+i] }

// Windows is the number of table entries per base.
func (t *MSMTable) Windows() int { return len(t.pts) / t.n }

// MultiExp runs plan_msm over the rows (each of len(bases) scalars) as one
// batch and returns one result per row.
func (t *MSMTable) MultiExp(rows [][]fr.Element) []MSMPoint {
	out, _ := t.MultiExpWork(rows)
	return out
}

// MSM phases of MSMWork, in msm.cuh's MsmPhase order.
const (
	PhaseBucket  = iota // chunk sums: mixed additions of table points
	PhaseReduce         // segment running sums and N·acc
	PhaseCombine        // sums of segment results
	PhaseFinish         // a row's group sums
	msmPhases
)

// MSMWork is msm.cuh's work counter over one plan_msm run: Ops[p] point
// operations (additions and doublings) in phase p over all threads, Chain[p]
// the most one thread of phase p did.
type MSMWork struct {
	Ops   [msmPhases]uint64
	Chain [msmPhases]uint64
}

// TotalOps is the number of point operations of all phases.
func (w MSMWork) TotalOps() uint64 {
	var s uint64
	for _, v := range w.Ops {
		s += v
	}
	return s
}

// Critical is the longest serial chain of point operations: the phases run
// one after another, so their longest threads add up.
func (w MSMWork) Critical() uint64 {
	var s uint64
	for _, v := range w.Chain {
		s += v
	}
	return s
}

// MultiExpWork is MultiExp and the run's work counter.
func (t *MSMTable) MultiExpWork(rows [][]fr.Element) ([]MSMPoint, MSMWork) {
	flat := make([]fr.Element, 0, len(rows)*t.n)
	for i, r := range rows {
		if len(r) != t.n {
			panic(fmt.Sprintf("hostcheck: row %d has %d scalars for %d bases", i, len(r), t.n))
		}
		flat = append(flat, r...)
	}
	out := make([]MSMPoint, len(rows))
	var w C.hc_msm_work
	if len(rows) > 0 {
		C.hc_msm_rows(unsafe.Pointer(&t.pts[0]), C.uint32_t(t.n), unsafe.Pointer(&flat[0]), C.uint32_t(len(rows)), unsafe.Pointer(&out[0]), &w)
	}
	var work MSMWork
	for p := range work.Ops {
		work.Ops[p] = uint64(w.ops[p])
		work.Chain[p] = uint64(w.chain[p])
	}
	return out, work
}

// ScalarMul is the headers' double-and-add s·P (the library's self-test
// reference).
func ScalarMul(p bls12381.G1Affine, s fr.Element) bls12381.G1Affine {
	var out bls12381.G1Affine
	C.hc_msm_scalar_mul(unsafe.Pointer(&p), unsafe.Pointer(&s), unsafe.Pointer(&out))
	return out
}
