package sampler

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/zgda/zgda/da"
)

// Outcome is what became of one sample.
type Outcome int

// Outcomes of a sample.
const (
	OK         Outcome = iota + 1 // a cell that verified against its row commitment
	Failed                        // answers came, and every one was wrong
	Unanswered                    // nobody answered (refused, unreachable, timed out)
)

func (o Outcome) String() string {
	switch o {
	case OK:
		return "ok"
	case Failed:
		return "failed"
	case Unanswered:
		return "unanswered"
	}
	return fmt.Sprintf("outcome-%d", int(o))
}

// MarshalText writes the outcome's name.
func (o Outcome) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// UnmarshalText reads an outcome's name.
func (o *Outcome) UnmarshalText(b []byte) error {
	for _, v := range []Outcome{OK, Failed, Unanswered} {
		if v.String() == string(b) {
			*o = v
			return nil
		}
	}
	return fmt.Errorf("sampler: unknown outcome %q", b)
}

// Fault is what went wrong with one request.
type Fault int

// Faults of a request. Invalid and Malformed make the source a liar.
const (
	Withheld    Fault = iota + 1 // the source refused (it says it does not store the cell)
	Unreachable                  // dialing or opening a stream failed
	TimedOut                     // no answer in time
	Busy                         // the source asked to come back later
	Malformed                    // an answer that breaks the protocol: garbage, oversized, another cell, a header not of the batch
	Invalid                      // a well-formed answer that does not verify: wrong cell, proof or header
)

func (f Fault) String() string {
	switch f {
	case Withheld:
		return "withheld"
	case Unreachable:
		return "unreachable"
	case TimedOut:
		return "timed out"
	case Busy:
		return "busy"
	case Malformed:
		return "malformed"
	case Invalid:
		return "invalid"
	}
	return fmt.Sprintf("fault-%d", int(f))
}

// MarshalText writes the fault's name.
func (f Fault) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// UnmarshalText reads a fault's name.
func (f *Fault) UnmarshalText(b []byte) error {
	for _, v := range []Fault{Withheld, Unreachable, TimedOut, Busy, Malformed, Invalid} {
		if v.String() == string(b) {
			*f = v
			return nil
		}
	}
	return fmt.Errorf("sampler: unknown fault %q", b)
}

// lie reports whether the fault proves the source misbehaved.
func (f Fault) lie() bool { return f == Malformed || f == Invalid }

// transient reports whether asking again later may help.
func (f Fault) transient() bool { return f == Unreachable || f == TimedOut || f == Busy }

// DisperserSource is NodeReport.Signer in Report.Disperser, the
// disperser's HTTP API (WithDisperser).
const DisperserSource = -1

// Try is one failed request to a DA node for a sample.
type Try struct {
	Source int    `json:"source"` // signer index
	Fault  Fault  `json:"fault"`
	Error  string `json:"error"`
}

// Sample is one drawn cell of the batch's grid and what became of it.
type Sample struct {
	Row  uint32 `json:"row"`  // dispersed row n < N
	Cell uint16 `json:"cell"` // cell c < 128
	// Outcome is what the DA nodes answered; it alone counts towards the
	// verdict.
	Outcome Outcome `json:"outcome"`
	// From is the DA node (signer index) that served the verified cell;
	// nil unless the sample is OK.
	From  *int  `json:"from,omitempty"`
	Tries []Try `json:"tries,omitempty"` // the DA nodes' failed requests, in order
	// Disperser is what the disperser answered when it was asked for the
	// cell because no DA node served it (WithDisperser); zero when it was
	// not asked. It never changes Outcome.
	Disperser Outcome `json:"disperser,omitempty"`
}

// NodeReport is one source's part in a check: a DA node's, or the
// disperser's in Report.Disperser.
type NodeReport struct {
	Signer int            `json:"signer"` // DisperserSource for the disperser
	Name   string         `json:"name"`   // "signer 3 (12D3Koo…)" or "disperser http://…"
	Addrs  []string       `json:"addrs,omitempty"`
	Asked  int            `json:"asked"`
	Served int            `json:"served"` // answers that verified
	Faults map[string]int `json:"faults,omitempty"`
	// Error is the first fault's message.
	Error string `json:"error,omitempty"`
}

// Lied reports whether the source sent a wrong or malformed answer.
func (n *NodeReport) Lied() bool {
	return n.Faults[Invalid.String()]+n.Faults[Malformed.String()] > 0
}

// Unresponsive reports whether the source left a request unanswered.
func (n *NodeReport) Unresponsive() bool {
	for _, f := range []Fault{Withheld, Unreachable, TimedOut, Busy} {
		if n.Faults[f.String()] > 0 {
			return true
		}
	}
	return false
}

// Report is the result of sampling one batch, from the point of view of
// one of its blobs (Sample) or of the whole batch (SampleBatch: Key is zero
// and Index is −1).
type Report struct {
	// The blob the report is for: its key, its position Index among the
	// batch's BatchBlobs blobs, its first matrix row Offset and its rows R.
	Key    da.BlobKey `json:"blob_key"`
	Index  int        `json:"index"`
	Offset int        `json:"offset"`
	Rows   uint32     `json:"rows"`

	// The batch sampled (docs/spec.md §3.3, §3.4): its root, its blobs
	// (only in the batch's own report), D data rows and N = 4D dispersed
	// rows, the rows of the N × 128 grid the samples are drawn from.
	BatchRoot     da.Hash            `json:"batch_root"`
	BatchBlobs    int                `json:"batch_blobs"`
	Blobs         []da.CertifiedBlob `json:"blobs,omitempty"`
	DataRows      int                `json:"data_rows"`
	DispersedRows int                `json:"dispersed_rows"`

	Epoch      uint64   `json:"epoch"`
	Quorum     uint32   `json:"quorum"`
	CertHeight int64    `json:"certificate_height"`
	Samples    []Sample `json:"samples"`
	// The samples by Outcome: only cells the DA nodes served, verified
	// against their row commitments, are OK.
	OK         int `json:"ok"`
	Failed     int `json:"failed"`
	Unanswered int `json:"unanswered"`
	// Available is the batch's verdict, and so each of its blobs': every
	// sample OK (docs/spec.md §3.6).
	Available bool `json:"available"`
	// Confidence is 1 − (5/8)^OK for an available batch, 0 otherwise.
	Confidence float64      `json:"confidence"`
	Nodes      []NodeReport `json:"nodes"` // every DA node asked, by signer
	// Disperser is the disperser's part when it was asked (WithDisperser)
	// for the samples no DA node served: Served of them verified. Those
	// cells show that the disperser still has them, not that the batch is
	// available; they count in neither OK nor Confidence.
	Disperser *NodeReport   `json:"disperser_cells,omitempty"`
	Elapsed   time.Duration `json:"elapsed_ns"`
}

// ForBlob is the report of the batch's i-th blob (0 ≤ i < BatchBlobs): the
// batch's report naming that blob, without the blob list. It shares
// Samples and Nodes with r. It panics unless r is a batch's report.
func (r *Report) ForBlob(i int) *Report {
	if len(r.Blobs) != r.BatchBlobs || i < 0 || i >= len(r.Blobs) {
		panic(fmt.Sprintf("sampler: ForBlob(%d) of a report listing %d of %d blobs", i, len(r.Blobs), r.BatchBlobs))
	}
	out := *r
	out.Key, out.Rows, out.Index, out.Offset = r.Blobs[i].Key, r.Blobs[i].Rows, i, 0
	for _, b := range r.Blobs[:i] {
		out.Offset += int(b.Rows)
	}
	out.Blobs = nil
	return &out
}

// IsBatch reports whether r is a batch's own report (SampleBatch), not a
// blob's.
func (r *Report) IsBatch() bool { return r.Index < 0 }

// Verdict is "available" or "unavailable".
func (r *Report) Verdict() string {
	if r.Available {
		return "available"
	}
	return "unavailable"
}

// Liars are the DA nodes that sent wrong or malformed answers.
func (r *Report) Liars() []int { return r.sources((*NodeReport).Lied) }

// Unresponsive are the DA nodes that left requests unanswered.
func (r *Report) Unresponsive() []int { return r.sources((*NodeReport).Unresponsive) }

// DisperserAsked is how many samples the disperser was asked for.
func (r *Report) DisperserAsked() int {
	n := 0
	for _, s := range r.Samples {
		if s.Disperser != 0 {
			n++
		}
	}
	return n
}

func (r *Report) sources(f func(*NodeReport) bool) []int {
	var out []int
	for i := range r.Nodes {
		if f(&r.Nodes[i]) {
			out = append(out, r.Nodes[i].Signer)
		}
	}
	return out
}

// tally fills the counts, the verdict and the source lists. The verdict
// reads only the samples' Outcome: the disperser's answers are not in it.
func (r *Report) tally(nodes map[int]*NodeReport, disp *NodeReport) {
	r.OK, r.Failed, r.Unanswered = 0, 0, 0
	for _, s := range r.Samples {
		switch s.Outcome {
		case OK:
			r.OK++
		case Failed:
			r.Failed++
		default:
			r.Unanswered++
		}
	}
	r.Available = len(r.Samples) > 0 && r.OK == len(r.Samples)
	r.Confidence = 0
	if r.Available {
		r.Confidence = Confidence(r.OK)
	}
	r.Nodes = r.Nodes[:0]
	for _, n := range nodes {
		r.Nodes = append(r.Nodes, *n)
	}
	sort.Slice(r.Nodes, func(i, j int) bool { return r.Nodes[i].Signer < r.Nodes[j].Signer })
	r.Disperser = nil
	if disp != nil {
		d := *disp
		r.Disperser = &d
	}
}

// WriteText writes the report for people: the verdict first, then the
// sources that misbehaved, then each sample that was not OK.
func (r *Report) WriteText(w io.Writer) error {
	var sb strings.Builder
	if r.IsBatch() {
		fmt.Fprintf(&sb, "batch %s: %s\n", r.BatchRoot, strings.ToUpper(r.Verdict()))
		fmt.Fprintf(&sb, "  %d blobs, D = %d data rows\n", r.BatchBlobs, r.DataRows)
	} else {
		fmt.Fprintf(&sb, "blob %s: %s\n", r.Key, strings.ToUpper(r.Verdict()))
		fmt.Fprintf(&sb, "  blob %d of %d in batch %s: R = %d, rows %d to %d of D = %d\n",
			r.Index, r.BatchBlobs, r.BatchRoot, r.Rows, r.Offset, r.Offset+int(r.Rows)-1, r.DataRows)
	}
	fmt.Fprintf(&sb, "  certified at height %d, epoch %d, quorum %d; grid of N = %d dispersed rows × %d cells\n",
		r.CertHeight, r.Epoch, r.Quorum, r.DispersedRows, da.CellsPerRow)
	fmt.Fprintf(&sb, "  samples: %d ok, %d failed, %d unanswered of %d, in %v\n",
		r.OK, r.Failed, r.Unanswered, len(r.Samples), r.Elapsed.Round(time.Millisecond))
	if r.Available {
		fmt.Fprintf(&sb, "  confidence: %.6f (1 − (5/8)^%d)\n", r.Confidence, r.OK)
	}
	for _, n := range r.Nodes {
		switch {
		case n.Lied():
			fmt.Fprintf(&sb, "  LIED: %s: %s (%d of %d served)\n", n.Name, n.Error, n.Served, n.Asked)
		case n.Unresponsive():
			fmt.Fprintf(&sb, "  did not answer: %s: %s (%d of %d served)\n", n.Name, n.Error, n.Served, n.Asked)
		}
	}
	if d := r.Disperser; d != nil {
		fmt.Fprintf(&sb, "  %s: has %d of the %d cells the DA nodes did not serve (verified; no evidence of availability)\n",
			d.Name, d.Served, r.DisperserAsked())
		switch {
		case d.Lied():
			fmt.Fprintf(&sb, "  LIED: %s: %s\n", d.Name, d.Error)
		case d.Unresponsive():
			fmt.Fprintf(&sb, "  did not answer: %s: %s\n", d.Name, d.Error)
		}
	}
	for _, s := range r.Samples {
		if s.Outcome != OK {
			fmt.Fprintf(&sb, "  cell (%d, %d) %s after %d tries", s.Row, s.Cell, s.Outcome, len(s.Tries))
			if s.Disperser != 0 {
				fmt.Fprintf(&sb, "; disperser: %s", s.Disperser)
			}
			sb.WriteByte('\n')
		}
	}
	_, err := io.WriteString(w, sb.String())
	return err
}
