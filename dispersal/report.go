package dispersal

import (
	"fmt"
	"math"
	"math/bits"
	"time"

	"github.com/zgda/zgda/da"
)

// Outcome is what became of one node's request.
type Outcome int

// Outcomes of a node's request.
const (
	Signed       Outcome = iota + 1 // a valid signature, counted
	Refused                         // the node answered with a refusal (see NodeResult.Refusal)
	BadSignature                    // the node's signature did not verify against its registered key
	Unreachable                     // dialing or opening a stream failed
	TimedOut                        // no answer within Config.RequestTimeout
	Busy                            // the node stayed busy through every retry
	Failed                          // any other failure (protocol violation, unusable addresses)
	Cancelled                       // not awaited: the threshold was reached first, or the caller gave up
)

func (o Outcome) String() string {
	switch o {
	case Signed:
		return "signed"
	case Refused:
		return "refused"
	case BadSignature:
		return "bad signature"
	case Unreachable:
		return "unreachable"
	case TimedOut:
		return "timed out"
	case Busy:
		return "busy"
	case Failed:
		return "failed"
	case Cancelled:
		return "cancelled"
	}
	return fmt.Sprintf("outcome-%d", int(o))
}

// NodeResult is one node's part in a dispersal.
type NodeResult struct {
	Signer   uint32
	PubKey   da.PublicKey
	Addrs    []string
	Slots    int // window slots the node holds
	Rows     int // dispersed rows sent (each once, however many of its slots hold it)
	Bytes    int // request size
	Attempts int
	Outcome  Outcome
	Err      error            // why, for every outcome but Signed
	Refusal  *da.RefusalError // the node's refusal, for Refused
	Latency  time.Duration    // of the last attempt
}

func (r NodeResult) String() string {
	s := fmt.Sprintf("signer %d", r.Signer)
	if len(r.Addrs) > 0 {
		s += " (" + r.Addrs[0] + ")"
	}
	if r.Outcome == Signed {
		return s + ": signed"
	}
	if r.Err != nil {
		return fmt.Sprintf("%s: %s after %d attempt(s): %v", s, r.Outcome, r.Attempts, r.Err)
	}
	return fmt.Sprintf("%s: %s", s, r.Outcome)
}

// WindowResult is the signed share of a batch's window (docs/spec.md §4.2,
// §4.4): Weight of Total in the integer weights of da.Quorum.SignedWeight,
// and the least weight Need that meets the chain's threshold.
type WindowResult struct {
	Window      da.Window
	SignedSlots int // window slots whose holder signed (of Window.S)
	Weight      uint64
	Total       uint64
	Need        uint64
	OK          bool
}

// Report describes a dispersal, whether or not it produced a certificate.
type Report struct {
	ChainID   string
	Epoch     uint64
	Quorum    uint32
	BatchRoot da.Hash
	Blobs     []da.CertifiedBlob // the batch's (key, R), in batch order
	Window    WindowResult
	Nodes     []NodeResult // by signer index
	// BytesSent counts the request bytes of the attempts that completed
	// the write; RowBytesSent and HeaderBytesSent are the dispersed rows'
	// bytes (da.RowSize each) and the batch headers' bytes within it, so
	// that row bytes per posted byte can be reported apart from headers.
	BytesSent       int64
	RowBytesSent    int64
	HeaderBytesSent int64
	Duration        time.Duration
}

// Failed lists the nodes that did not contribute a valid signature (the
// cancelled ones excepted: they were not needed).
func (r *Report) Failed() []NodeResult {
	var out []NodeResult
	for _, n := range r.Nodes {
		if n.Outcome != Signed && n.Outcome != Cancelled {
			out = append(out, n)
		}
	}
	return out
}

// Node returns the result of signer i, if it was sent anything.
func (r *Report) Node(i uint32) (NodeResult, bool) {
	for _, n := range r.Nodes {
		if n.Signer == i {
			return n, true
		}
	}
	return NodeResult{}, false
}

// need is the least n with n·den ≥ num·total: ceil(num·total / den), in
// 128-bit arithmetic (the result fits 64 bits for any window).
func need(total uint64, num, den uint32) uint64 {
	if den == 0 {
		return 0
	}
	hi, lo := bits.Mul64(total, uint64(num))
	lo, carry := bits.Add64(lo, uint64(den)-1, 0)
	hi += carry
	if hi >= uint64(den) {
		return math.MaxUint64
	}
	q, _ := bits.Div64(hi, lo, uint64(den))
	return q
}
