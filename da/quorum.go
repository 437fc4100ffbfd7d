package da

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"slices"
)

// The quorum and slot arithmetic of DESIGN.md §4. Everything here is pure and
// deterministic: the chain runs it on every validator, DA nodes run it to
// learn their slots, the disperser runs it to route rows and count signatures.

const (
	// ExtensionFactor is the column extension: a blob of K rows has 4K.
	ExtensionFactor = 4
	// MinBlobSlots is the least number of slots a blob spans (small blobs are
	// replicated up to it).
	MinBlobSlots = 256
)

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

// BlobSlotCount is S = max(4K, MinBlobSlots) for a blob of K = rows rows.
func BlobSlotCount(rows uint32) int {
	s := ExtensionFactor * int(rows)
	if s < MinBlobSlots {
		return MinBlobSlots
	}
	return s
}

// BlobFirstSlot is uint64_be(blob_key[0:8]) mod m, the quorum slot of the
// blob's slot 0. m must be positive.
func BlobFirstSlot(key BlobKey, m int) int {
	return int(binary.BigEndian.Uint64(key[:8]) % uint64(m))
}

// BlobSlot is the quorum slot of the blob's i-th slot: (first + i) mod m.
func BlobSlot(key BlobKey, m, i int) int {
	return (BlobFirstSlot(key, m) + i) % m
}

// BlobSlotRow is the extended row that the blob's i-th slot holds: i mod 4K.
func BlobSlotRow(rows uint32, i int) uint32 {
	return uint32(i) % (ExtensionFactor * rows)
}

// SlotAssignment says that quorum slot Slot, held by Signer, stores extended
// row Row of a blob.
type SlotAssignment struct {
	Slot   int    `json:"slot"`
	Row    uint32 `json:"row"`
	Signer uint32 `json:"signer"`
}

// BlobAssignments lists the blob's S slots in order (the i-th entry is the
// blob's slot i). q must be non-empty.
func (q Quorum) BlobAssignments(key BlobKey, rows uint32) []SlotAssignment {
	s := BlobSlotCount(rows)
	first := BlobFirstSlot(key, len(q))
	out := make([]SlotAssignment, s)
	for i := range out {
		slot := (first + i) % len(q)
		out[i] = SlotAssignment{Slot: slot, Row: BlobSlotRow(rows, i), Signer: q[slot]}
	}
	return out
}

// SignedBlobSlots counts the blob's S slots whose holder signed (per signed)
// and returns it with S. q must be non-empty.
func (q Quorum) SignedBlobSlots(key BlobKey, rows uint32, signed func(signer uint32) bool) (n, s int) {
	s = BlobSlotCount(rows)
	m := len(q)
	slot := BlobFirstSlot(key, m)
	for i := 0; i < s; i++ {
		if signed(q[slot]) {
			n++
		}
		if slot++; slot == m {
			slot = 0
		}
	}
	return n, s
}

// MeetsThreshold reports whether n of s slots reach num/den: n·den ≥ num·s.
func MeetsThreshold(n, s int, num, den uint32) bool {
	return uint64(n)*uint64(den) >= uint64(num)*uint64(s)
}
