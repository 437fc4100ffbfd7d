package cellasks

import (
	"strconv"
	"testing"
)

func TestTrackerCountsDistinctCells(t *testing.T) {
	var a Tracker
	for i, c := range []uint16{3, 3, 64, 127, 3, 0} {
		want := []int{1, 1, 2, 3, 3, 4}[i]
		if got := a.Ask("r", c); got != want {
			t.Fatalf("ask %d (cell %d): %d distinct, want %d", i, c, got, want)
		}
	}
	if got := a.Ask("other", 3); got != 1 {
		t.Fatalf("another row: %d", got)
	}
	a.Forget("r")
	if got := a.Ask("r", 5); got != 1 {
		t.Fatalf("after Forget: %d", got)
	}
}

func TestTrackerBounded(t *testing.T) {
	var a Tracker
	for i := 0; i < maxRows+1; i++ {
		a.Ask(strconv.Itoa(i), 1)
	}
	if len(a.rows) > maxRows {
		t.Fatalf("%d rows tracked, bound %d", len(a.rows), maxRows)
	}
}
