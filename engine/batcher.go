package engine

import (
	"context"
	"time"

	"github.com/zgda/zgda/da"
)

// cutRule decides when the blobs waiting for the batcher become a batch
// (docs/spec.md §3.3, §4.2). Blobs are taken oldest first while the data
// rows D stay within MaxRows (the first blob always, alone if it must be),
// and those blobs are cut as a batch:
//
//   - when the next blob would pass MaxRows: the batch is as full as it gets;
//   - when D ≥ MinRows, the smallest D whose N = 4D rows fill the window of
//     W = min_batch_slots slots: a batch that small is replicated to W slots
//     (§4.2), so below it every blob added comes at no cost in rows sent;
//   - when no accepted blob is still in intake and an encoder is idle (fewer
//     batches cut and not yet handed over than the engine's encoders), once
//     the intake has stayed empty for Linger: nothing more is coming soon
//     and nothing would be gained by waiting. Linger bridges the moment
//     between a poster's 202 and its next post, when the intake of a steady
//     stream is empty for a millisecond or two: without it 8 one-row
//     posters on 2 cores got batches of 21 rows instead of 64;
//   - MaxWait after the oldest was queued, while blobs are still in intake,
//     but not while an intake commitment call is running or committed posts
//     are being stored: those blobs arrive as soon as it ends, and cutting
//     before would split a burst into the pieces that the commit calls and
//     fsyncs happened to take (committing 64 rows takes about 2 s on 2
//     cores).
//
// While every encoder is busy and nothing is in intake the batcher waits for
// one: the batch could not be encoded any sooner.
type cutRule struct {
	MinRows int
	MaxRows int
	MaxWait time.Duration
	Linger  time.Duration
}

// queueState is what the rule looks at.
type queueState struct {
	Rows        []int         // R of each queued blob, oldest first
	Waited      time.Duration // since the oldest was queued
	InIntake    int           // accepted blobs not yet queued
	IntakeIdle  time.Duration // since the intake last became empty (when InIntake is 0)
	Committing  bool          // an intake CommitRows call runs, or committed posts are being stored
	EncoderIdle bool          // an encoder is free: fewer batches cut and not yet handed to dispersal than the encoders
}

// cut returns how many queued blobs, oldest first, form the next batch. With
// none due it returns 0 and how long until MaxWait cuts one (0: no deadline;
// the batcher waits for a change of the queue, the intake or the encoder).
func (r cutRule) cut(s queueState) (n int, wait time.Duration) {
	if len(s.Rows) == 0 {
		return 0, 0
	}
	d := 0
	for n < len(s.Rows) && (n == 0 || d+s.Rows[n] <= r.MaxRows) {
		d += s.Rows[n]
		n++
	}
	switch {
	case n < len(s.Rows), d >= r.MinRows:
		return n, 0
	case s.InIntake == 0 && s.EncoderIdle && s.IntakeIdle >= r.Linger:
		return n, 0
	case s.InIntake == 0 && s.EncoderIdle:
		return 0, r.Linger - s.IntakeIdle
	case s.InIntake == 0, s.Committing:
		return 0, 0
	case s.Waited >= r.MaxWait:
		return n, 0
	}
	return 0, r.MaxWait - s.Waited
}

// minRowsFor is the smallest D whose N = 4D dispersed rows fill a window of
// w slots: ceil(w / 4), at least 1.
func minRowsFor(w int) int {
	return max(1, (w+da.ExtensionFactor-1)/da.ExtensionFactor)
}

// cutRule is the batcher's rule from the configuration; MinRows 0 takes W
// from the chain (min_batch_slots), or da.DefaultMinBatchSlots when the
// chain does not answer now.
func (e *Engine) cutRule(ctx context.Context) cutRule {
	c := e.cfg.Batcher
	r := cutRule{MinRows: c.MinRows, MaxRows: c.MaxRows, MaxWait: time.Duration(c.MaxWait), Linger: time.Duration(c.Linger)}
	if r.MinRows > 0 {
		return r
	}
	w := da.DefaultMinBatchSlots
	if e.chain != nil {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		st, err := e.chain.Status(ctx)
		if err == nil && st.Params.MinBatchSlots > 0 {
			w = int(st.Params.MinBatchSlots)
		} else {
			e.log.Warn("chain parameters unknown: batches aim at the default window", "min_batch_slots", w, "err", err)
		}
	}
	r.MinRows = min(minRowsFor(w), r.MaxRows)
	return r
}
