package par

import (
	"sync/atomic"
	"testing"
)

func TestRangeCoversEveryIndexOnce(t *testing.T) {
	for _, tc := range []struct{ n, workers, minChunk int }{
		{0, 4, 1}, {1, 4, 1}, {7, 3, 1}, {100, 0, 1}, {100, 8, 30}, {5, 2, 10},
	} {
		hits := make([]atomic.Int32, tc.n)
		Range(tc.n, tc.workers, tc.minChunk, func(lo, hi int) {
			if hi-lo < min(tc.minChunk, tc.n) {
				t.Errorf("%+v: range [%d,%d) below minChunk", tc, lo, hi)
			}
			for i := lo; i < hi; i++ {
				hits[i].Add(1)
			}
		})
		for i := range hits {
			if hits[i].Load() != 1 {
				t.Fatalf("%+v: index %d visited %d times", tc, i, hits[i].Load())
			}
		}
	}
}
