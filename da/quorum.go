package da

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"
)

// The quorum and window arithmetic of docs/spec.md §4. Everything here is pure and
// deterministic: the chain runs it on every validator, DA nodes run it to
// learn their slots, the disperser runs it to route rows and count signatures.

// DefaultMinBatchSlots is W's default: the least number of window slots of
// a batch (small batches are replicated up to it).
const DefaultMinBatchSlots = 256

// EpochSeed is SHA-256(block hash at the boundary ‖ uint64_be(epoch)).
func EpochSeed(blockHash Hash, epoch uint64) Hash {
	var buf [40]byte
	copy(buf[:32], blockHash[:])
	binary.BigEndian.PutUint64(buf[32:], epoch)
	return sha256.Sum256(buf[:])
}

// VRFMessage is what a node BLS-signs to produce its VRF proof for an epoch:
// "zgda/v1/vrf" ‖ chain_id ‖ uint64_be(epoch) ‖ seed.
func VRFMessage(chainID string, epoch uint64, seed Hash) []byte {
	const prefix = "zgda/v1/vrf"
	m := make([]byte, 0, len(prefix)+len(chainID)+8+32)
	m = append(m, prefix...)
	m = append(m, chainID...)
	m = binary.BigEndian.AppendUint64(m, epoch)
	return append(m, seed[:]...)
}

// VRFOutput is SHA-256 of the (compressed, canonical) VRF proof signature.
func VRFOutput(proof Signature) Hash { return sha256.Sum256(proof[:]) }

// Ballots is floor(stake / tokensPerBallot), capped at ballotCap; zero when
// tokensPerBallot is zero.
func Ballots(stake, tokensPerBallot uint64, ballotCap uint32) uint32 {
	if tokensPerBallot == 0 {
		return 0
	}
	n := stake / tokensPerBallot
	if n > uint64(ballotCap) {
		return ballotCap
	}
	return uint32(n)
}

// Ticket is ballot b's ticket: SHA-256(vrf_output ‖ uint32_be(b)).
func Ticket(vrfOutput Hash, ballot uint32) Hash {
	var buf [36]byte
	copy(buf[:32], vrfOutput[:])
	binary.BigEndian.PutUint32(buf[32:], ballot)
	return sha256.Sum256(buf[:])
}

// Participant is a signer taking part in an epoch's quorum assignment: its
// registry index, its VRF output for the epoch and its number of ballots.
type Participant struct {
	Signer  uint32
	VRF     Hash
	Ballots uint32
}

// Quorum maps each slot (0 ≤ s < M) to the registry index of its holder.
type Quorum []uint32

// AssignQuorums builds an epoch's quorums of m slots. Every participant's
// ballots become tickets; all tickets are sorted ascending (ties, which need a
// SHA-256 collision or two identical VRF outputs, by signer then ballot) and
// cut into quorums of m consecutive tickets; slot s of a quorum belongs to the
// node of its ticket. With fewer than m tickets in all, one quorum takes them
// cyclically in sorted order until its m slots are full. With m or more, the
// number of quorums is floor(T/m), and the T mod m highest tickets are left
// out: a quorum filled cyclically from a small remainder would give a few
// nodes all of its slots. ps is not modified; its order does not matter.
// The result is nil when there are no tickets or m ≤ 0.
func AssignQuorums(ps []Participant, m int) []Quorum {
	if m <= 0 {
		return nil
	}
	type ticket struct {
		h              Hash
		signer, ballot uint32
	}
	total := 0
	for _, p := range ps {
		total += int(p.Ballots)
	}
	if total == 0 {
		return nil
	}
	ts := make([]ticket, 0, total)
	for _, p := range ps {
		for b := uint32(0); b < p.Ballots; b++ {
			ts = append(ts, ticket{Ticket(p.VRF, b), p.Signer, b})
		}
	}
	slices.SortFunc(ts, func(a, b ticket) int {
		if c := bytes.Compare(a.h[:], b.h[:]); c != 0 {
			return c
		}
		if c := cmp.Compare(a.signer, b.signer); c != 0 {
			return c
		}
		return cmp.Compare(a.ballot, b.ballot)
	})
	if len(ts) < m {
		q := make(Quorum, m)
		for s := range q {
			q[s] = ts[s%len(ts)].signer
		}
		return []Quorum{q}
	}
	qs := make([]Quorum, len(ts)/m)
	for i := range qs {
		q := make(Quorum, m)
		for s := range q {
			q[s] = ts[i*m+s].signer
		}
		qs[i] = q
	}
	return qs
}

// SlotsOf lists the slots that signer holds, ascending.
func (q Quorum) SlotsOf(signer uint32) []int {
	var out []int
	for s, h := range q {
		if h == signer {
			out = append(out, s)
		}
	}
	return out
}

// Members lists the distinct holders of q's slots, ascending.
func (q Quorum) Members() []uint32 {
	out := slices.Clone([]uint32(q))
	slices.Sort(out)
	return slices.Compact(out)
}

// The window of a batch (docs/spec.md §4.2): S = max(N, W) consecutive
// quorum slots from start = uint64_be(batch_root[0:8]) mod M; window slot i
// holds dispersed row i mod N. Only a batch with N < W is replicated: row r
// then has m_r ∈ {q, q+1} window slots, q = floor(S / N).

// Window is the slot window of one batch in a quorum of M slots.
type Window struct {
	Start int // quorum slot of window slot 0
	N     int // dispersed rows
	S     int // window slots, max(N, W)
	M     int // quorum size
}

// NewWindow is the window of a batch with the given root and N dispersed
// rows, for W = minSlots and a quorum of m slots. It fails unless 1 ≤ N,
// 1 ≤ W ≤ m and N ≤ m (a quorum's slots must hold every row at least once).
func NewWindow(root Hash, n, minSlots, m int) (Window, error) {
	switch {
	case n < 1 || n > MaxDispersedRows:
		return Window{}, fmt.Errorf("da: %d dispersed rows, want 1 to %d", n, MaxDispersedRows)
	case minSlots < 1 || minSlots > m:
		return Window{}, fmt.Errorf("da: min_batch_slots %d, want 1 to the quorum size %d", minSlots, m)
	case n > m:
		return Window{}, fmt.Errorf("da: %d dispersed rows do not fit a quorum of %d slots", n, m)
	}
	return Window{Start: int(binary.BigEndian.Uint64(root[:8]) % uint64(m)), N: n, S: max(n, minSlots), M: m}, nil
}

// Slot is the quorum slot of window slot i (0 ≤ i < S).
func (w Window) Slot(i int) int { return (w.Start + i) % w.M }

// Row is the dispersed row of window slot i: i mod N.
func (w Window) Row(i int) int { return i % w.N }

// Copies is m_r, the window slots that hold dispersed row r.
func (w Window) Copies(r int) int {
	q := w.S / w.N
	if r < w.S%w.N {
		return q + 1
	}
	return q
}

// SlotAssignment says that quorum slot Slot, held by Signer, stores
// dispersed row Row of a batch.
type SlotAssignment struct {
	Slot   int    `json:"slot"`
	Row    uint32 `json:"row"`
	Signer uint32 `json:"signer"`
}

// Assignments lists the window's S slots in order (the i-th entry is window
// slot i). len(q) must be w.M.
func (q Quorum) Assignments(w Window) []SlotAssignment {
	out := make([]SlotAssignment, w.S)
	for i := range out {
		slot := w.Slot(i)
		out[i] = SlotAssignment{Slot: slot, Row: uint32(w.Row(i)), Signer: q[slot]}
	}
	return out
}

// RowsOf lists, ascending and without repeats, the dispersed rows that
// signer holds window slots for (nil if none).
func (q Quorum) RowsOf(w Window, signer uint32) []uint32 {
	held := make([]bool, w.N)
	any := false
	for i := 0; i < w.S; i++ {
		if q[w.Slot(i)] == signer {
			held[w.Row(i)] = true
			any = true
		}
	}
	if !any {
		return nil
	}
	var out []uint32
	for r, h := range held {
		if h {
			out = append(out, uint32(r))
		}
	}
	return out
}

// Holders lists the distinct signers that hold a window slot of dispersed
// row r, in window order.
func (q Quorum) Holders(w Window, r int) []uint32 {
	var out []uint32
	for i := r; i < w.S; i += w.N {
		s := q[w.Slot(i)]
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// SignedWeight is the signed weight of a window (docs/spec.md §4.4), in
// integers: each signed window slot of row r weighs Q / m_r, Q = q·(q+1), so
// that every row weighs Q in all and total = N·Q. A certificate needs
// 3·signed ≥ 2·total (MeetsThreshold with 2/3); for N ≥ W this is
// 3·(signed slots) ≥ 2·S. len(q) must be w.M.
func (q Quorum) SignedWeight(w Window, signed func(signer uint32) bool) (got, total uint64) {
	qq := uint64(w.S / w.N)
	big := qq * (qq + 1)
	for i := 0; i < w.S; i++ {
		if signed(q[w.Slot(i)]) {
			got += big / uint64(w.Copies(w.Row(i)))
		}
	}
	return got, uint64(w.N) * big
}

// MeetsThreshold reports whether got of total reaches num/den:
// got·den ≥ num·total.
func MeetsThreshold(got, total uint64, num, den uint32) bool {
	hi1, lo1 := bits.Mul64(got, uint64(den))
	hi2, lo2 := bits.Mul64(total, uint64(num))
	return hi1 > hi2 || (hi1 == hi2 && lo1 >= lo2)
}
