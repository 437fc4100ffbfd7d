package da

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestTicketKnownAnswer(t *testing.T) {
	got := Ticket(sha256.Sum256([]byte("b")), 1)
	if hex.EncodeToString(got[:]) != "04b5e98c54ae0aabe84b77e9b0dc7854ea013c390104ab829f4d4465f516ea7c" {
		t.Fatalf("ticket %s", got)
	}
}

// Vectors from an independent Python implementation: signer 0 holds 3
// ballots, signer 1 two, signer 2 one; sorted, the tickets belong to
// signers 1, 0, 2, 0, 1, 0.
func TestAssignQuorumsKnownAnswers(t *testing.T) {
	ps := []Participant{
		{Signer: 0, VRF: sha256.Sum256([]byte("a")), Ballots: 3},
		{Signer: 1, VRF: sha256.Sum256([]byte("b")), Ballots: 2},
		{Signer: 2, VRF: sha256.Sum256([]byte("c")), Ballots: 1},
	}
	for _, tc := range []struct {
		name string
		m    int
		want []Quorum
	}{
		{"fewer tickets than slots: cyclic", 8, []Quorum{{1, 0, 2, 0, 1, 0, 1, 0}}},
		{"one quorum, remainder left out", 4, []Quorum{{1, 0, 2, 0}}},
		{"three quorums", 2, []Quorum{{1, 0}, {2, 0}, {1, 0}}},
		{"two quorums", 3, []Quorum{{1, 0, 2}, {0, 1, 0}}},
		{"exact", 6, []Quorum{{1, 0, 2, 0, 1, 0}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := AssignQuorums(ps, tc.m)
			if !slices.EqualFunc(got, tc.want, func(a, b Quorum) bool { return slices.Equal(a, b) }) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	if AssignQuorums(nil, 4) != nil || AssignQuorums([]Participant{{Signer: 1}}, 4) != nil {
		t.Fatal("quorums without tickets")
	}
}

func TestBallots(t *testing.T) {
	for _, tc := range []struct {
		stake, tpb uint64
		cap, want  uint32
	}{
		{0, 1, 10, 0}, {9, 10, 100, 0}, {10, 10, 100, 1}, {99, 10, 100, 9},
		{1 << 40, 1, 1024, 1024}, {5, 0, 10, 0}, {1000, 10, 100, 100},
	} {
		if got := Ballots(tc.stake, tc.tpb, tc.cap); got != tc.want {
			t.Errorf("Ballots(%d, %d, %d) = %d, want %d", tc.stake, tc.tpb, tc.cap, got, tc.want)
		}
	}
}

// rootWithPrefix is a batch root whose first 8 bytes are p (the rest is
// filler that the window must ignore).
func rootWithPrefix(p uint64, fill byte) Hash {
	var h Hash
	for i := range h {
		h[i] = fill
	}
	binary.BigEndian.PutUint64(h[:8], p)
	return h
}

func TestNewWindow(t *testing.T) {
	for _, tc := range []struct {
		prefix        uint64
		n, w, m       int
		start, s      int
		lastSlot      int // quorum slot of window slot S−1
		lastRow       int
		copies0, copy int // copies of row 0 and of row N−1
	}{
		{0x405, 4, 256, 1024, 5, 256, 260, 3, 64, 64},               // 1029 mod 1024 = 5; replicated 64×
		{1023, 300, 256, 1024, 1023, 300, 298, 299, 1, 1},           // wraps: 1023+299 = 1322 mod 1024; N > W
		{1 << 63, 1024, 256, 1024, 0, 1024, 1023, 1023, 1, 1},       // 2^63 mod 1024 = 0; the whole quorum
		{7, 256, 256, 1024, 7, 256, 262, 255, 1, 1},                 // N = W
		{0xffffffffffffffff, 8, 256, 512, 511, 256, 254, 7, 32, 32}, // (2^64−1) mod 512 = 511
		{123456789, 100, 256, 1000, 789, 256, 44, 55, 3, 2},         // M not a power of two; 56 rows of 3, 44 of 2
		{5, 4, 1, 4, 1, 4, 0, 3, 1, 1},                              // W = 1, N = M
	} {
		for _, fill := range []byte{0, 0xff, 0x5a} {
			w, err := NewWindow(rootWithPrefix(tc.prefix, fill), tc.n, tc.w, tc.m)
			if err != nil {
				t.Fatalf("%+v: %v", tc, err)
			}
			if w.Start != tc.start || w.S != tc.s || w.N != tc.n || w.M != tc.m {
				t.Fatalf("prefix %#x N=%d W=%d M=%d: window %+v, want start %d S %d", tc.prefix, tc.n, tc.w, tc.m, w, tc.start, tc.s)
			}
			if w.Slot(0) != tc.start || w.Slot(w.S-1) != tc.lastSlot || w.Row(w.S-1) != tc.lastRow {
				t.Fatalf("%+v: slot(S−1) = %d row %d, want %d row %d", w, w.Slot(w.S-1), w.Row(w.S-1), tc.lastSlot, tc.lastRow)
			}
			if w.Copies(0) != tc.copies0 || w.Copies(tc.n-1) != tc.copy {
				t.Fatalf("%+v: copies %d, %d", w, w.Copies(0), w.Copies(tc.n-1))
			}
		}
	}
	root := rootWithPrefix(1, 1)
	for _, tc := range []struct {
		name    string
		n, w, m int
	}{
		{"N = 0", 0, 256, 1024},
		{"N negative", -4, 256, 1024},
		{"N = 1025", 1025, 256, 2048},
		{"N > M", 8, 4, 4},
		{"N > M, M large", 1024, 256, 1023},
		{"W = 0", 4, 0, 1024},
		{"W > M", 4, 257, 256},
		{"M = 0", 4, 1, 0},
		{"M negative", 4, 1, -1},
	} {
		if w, err := NewWindow(root, tc.n, tc.w, tc.m); err == nil {
			t.Errorf("%s: window %+v", tc.name, w)
		}
	}
	if _, err := NewWindow(root, 1024, 1024, 1024); err != nil {
		t.Errorf("N = W = M = 1024: %v", err)
	}
}

// A hand-counted window: M = 10, start 7, N = 4, W = 6 (S = 6, q = 1; rows 0
// and 1 have two window slots, rows 2 and 3 one).
//
//	window slot i   0  1  2  3  4  5
//	quorum slot     7  8  9  0  1  2
//	row             0  1  2  3  0  1
//	signer          3  4  4  0  3  2
func TestWindowByHand(t *testing.T) {
	q := Quorum{0, 3, 2, 3, 0, 1, 2, 3, 4, 4}
	w, err := NewWindow(rootWithPrefix(17, 0), 4, 6, 10)
	if err != nil {
		t.Fatal(err)
	}
	if w.Start != 7 || w.S != 6 {
		t.Fatalf("window %+v", w)
	}
	if got := []int{w.Copies(0), w.Copies(1), w.Copies(2), w.Copies(3)}; !slices.Equal(got, []int{2, 2, 1, 1}) {
		t.Fatalf("copies %v", got)
	}
	want := []SlotAssignment{{7, 0, 3}, {8, 1, 4}, {9, 2, 4}, {0, 3, 0}, {1, 0, 3}, {2, 1, 2}}
	if got := q.Assignments(w); !slices.Equal(got, want) {
		t.Fatalf("assignments %v, want %v", got, want)
	}
	for signer, rows := range map[uint32][]uint32{3: {0}, 4: {1, 2}, 0: {3}, 2: {1}, 1: nil, 9: nil} {
		if got := q.RowsOf(w, signer); !slices.Equal(got, rows) || (rows == nil) != (got == nil) {
			t.Errorf("RowsOf(%d) = %v, want %v", signer, got, rows)
		}
	}
	for r, hs := range [][]uint32{{3}, {4, 2}, {4}, {0}} {
		if got := q.Holders(w, r); !slices.Equal(got, hs) {
			t.Errorf("Holders(%d) = %v, want %v", r, got, hs)
		}
	}
	if got := q.SlotsOf(3); !slices.Equal(got, []int{1, 3, 7}) {
		t.Errorf("SlotsOf(3) = %v", got)
	}
	if got := q.Members(); !slices.Equal(got, []uint32{0, 1, 2, 3, 4}) {
		t.Errorf("Members = %v", got)
	}
	// Weights: Q = 2; rows 0, 1 weigh 1 a slot, rows 2, 3 weigh 2; total 8.
	for _, tc := range []struct {
		signers []uint32
		got     uint64
		meets   bool
	}{
		{nil, 0, false},
		{[]uint32{4}, 3, false},
		{[]uint32{3, 4}, 5, false},
		{[]uint32{3, 2, 0}, 5, false},
		{[]uint32{4, 0, 2}, 6, true}, // 18 ≥ 16
		{[]uint32{3, 4, 0}, 7, true},
		{[]uint32{1}, 0, false}, // holds no window slot
		{[]uint32{0, 1, 2, 3, 4}, 8, true},
	} {
		got, total := q.SignedWeight(w, func(s uint32) bool { return slices.Contains(tc.signers, s) })
		if got != tc.got || total != 8 || MeetsThreshold(got, total, 2, 3) != tc.meets {
			t.Errorf("signers %v: %d of %d, want %d of 8 (meets %v)", tc.signers, got, total, tc.got, tc.meets)
		}
	}
}

// The v1 example, as a window: M = 512, slot s held by signer s mod 4, start
// 500, N = 4, W = 256: each row has 64 slots, all held by the signer of its
// number.
func TestWindowReplicatedByHand(t *testing.T) {
	q := make(Quorum, 512)
	for s := range q {
		q[s] = uint32(s % 4)
	}
	w, err := NewWindow(rootWithPrefix(500, 3), 4, 256, 512)
	if err != nil {
		t.Fatal(err)
	}
	for r := 0; r < 4; r++ {
		if w.Copies(r) != 64 || !slices.Equal(q.Holders(w, r), []uint32{uint32(r)}) || !slices.Equal(q.RowsOf(w, uint32(r)), []uint32{uint32(r)}) {
			t.Fatalf("row %d: copies %d holders %v", r, w.Copies(r), q.Holders(w, r))
		}
	}
	as := q.Assignments(w)
	if len(as) != 256 || as[0].Slot != 500 || as[12].Slot != 0 || as[12].Row != 0 || as[5].Row != 1 || as[12].Signer != 0 || as[255].Slot != 243 {
		t.Fatalf("assignments %v", as[:13])
	}
	// Q = 64·65 = 4160, a slot weighs 65, total 16640.
	got, total := q.SignedWeight(w, func(x uint32) bool { return x == 0 })
	if got != 4160 || total != 16640 || MeetsThreshold(got, total, 2, 3) {
		t.Fatalf("signer 0 alone: %d of %d", got, total)
	}
	got, _ = q.SignedWeight(w, func(x uint32) bool { return x < 2 })
	if got != 8320 || MeetsThreshold(got, total, 2, 3) {
		t.Fatalf("two of four: %d", got)
	}
	got, _ = q.SignedWeight(w, func(x uint32) bool { return x != 3 })
	if got != 12480 || !MeetsThreshold(got, total, 2, 3) {
		t.Fatalf("three of four: %d", got)
	}
}

// ownSigners is a quorum of m slots in which slot s is held by signer s, so
// that a set of signers is a set of quorum slots.
func ownSigners(m int) Quorum {
	q := make(Quorum, m)
	for s := range q {
		q[s] = uint32(s)
	}
	return q
}

// signWindowSlots is the signed predicate of exactly the given window slots.
func signWindowSlots(w Window, is []int) func(uint32) bool {
	set := map[uint32]bool{}
	for _, i := range is {
		set[uint32(w.Slot(i))] = true
	}
	return func(s uint32) bool { return set[s] }
}

func windowSlots(from, to int) []int {
	var out []int
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

// N ≥ W (and N dividing W): the weight rule is 3·(signed slots) ≥ 2·S,
// exactly at the boundary.
func TestSignedWeightSlotRule(t *testing.T) {
	q := ownSigners(1024)
	for _, tc := range []struct {
		n, w, need int // need = ceil(2S/3)
	}{
		{300, 256, 200}, // S = 300, 2S/3 exact
		{256, 256, 171}, // S = 256: 170.67
		{1024, 256, 683},
		{1024, 1024, 683},
		{260, 4, 174},  // 173.33
		{64, 256, 171}, // N | W: q = 4, every row 4 slots
		{4, 1, 3},
	} {
		w, err := NewWindow(rootWithPrefix(900, 0), tc.n, tc.w, 1024)
		if err != nil {
			t.Fatal(err)
		}
		for k := 0; k <= w.S; k++ {
			got, total := q.SignedWeight(w, signWindowSlots(w, windowSlots(0, k)))
			qq := uint64(w.S / w.N)
			if got != uint64(k)*(qq+1) || total != uint64(w.N)*qq*(qq+1) {
				t.Fatalf("N=%d W=%d: %d slots weigh %d of %d", tc.n, tc.w, k, got, total)
			}
			if meets := MeetsThreshold(got, total, 2, 3); meets != (3*k >= 2*w.S) || meets != (k >= tc.need) {
				t.Fatalf("N=%d W=%d: %d of %d slots: meets %v", tc.n, tc.w, k, w.S, meets)
			}
		}
		// Which slots does not matter: all but the last S − need, or all
		// but the first.
		skip := w.S - tc.need
		got, total := q.SignedWeight(w, signWindowSlots(w, windowSlots(skip, w.S)))
		if !MeetsThreshold(got, total, 2, 3) {
			t.Fatalf("N=%d W=%d: the last %d slots do not meet", tc.n, tc.w, tc.need)
		}
		got, total = q.SignedWeight(w, signWindowSlots(w, windowSlots(skip+1, w.S)))
		if MeetsThreshold(got, total, 2, 3) {
			t.Fatalf("N=%d W=%d: the last %d slots meet", tc.n, tc.w, tc.need-1)
		}
	}
}

// N = 100 does not divide W = 256: S = 256, q = 2, Q = 6; rows 0..55 have 3
// window slots (weight 2 each), rows 56..99 have 2 (weight 3 each); total
// 600, the threshold 400. Counting slots instead of weight would certify
// with the rows held thrice and a few others.
func TestSignedWeightUnevenRows(t *testing.T) {
	q := ownSigners(1024)
	w, err := NewWindow(rootWithPrefix(1000, 0), 100, 256, 1024)
	if err != nil {
		t.Fatal(err)
	}
	if w.S != 256 || w.Start != 1000 {
		t.Fatalf("window %+v", w)
	}
	var thrice, twice []int // window slots of rows with 3 and 2 copies
	for i := 0; i < w.S; i++ {
		switch w.Copies(w.Row(i)) {
		case 3:
			thrice = append(thrice, i)
			if w.Row(i) >= 56 {
				t.Fatalf("row %d has 3 copies", w.Row(i))
			}
		case 2:
			twice = append(twice, i)
			if w.Row(i) < 56 {
				t.Fatalf("row %d has 2 copies", w.Row(i))
			}
		default:
			t.Fatalf("row %d has %d copies", w.Row(i), w.Copies(w.Row(i)))
		}
	}
	if len(thrice) != 168 || len(twice) != 88 {
		t.Fatalf("%d slots of 3-copy rows, %d of 2-copy rows", len(thrice), len(twice))
	}
	for _, tc := range []struct {
		name         string
		slots        []int
		weight       uint64
		meets        bool
		slotRuleSays bool // 3·slots ≥ 2·S
	}{
		{"3-copy rows and 3 more", append(slices.Clone(thrice), twice[:3]...), 345, false, true},
		{"3-copy rows and 21 more", append(slices.Clone(thrice), twice[:21]...), 399, false, true},
		{"3-copy rows and 22 more", append(slices.Clone(thrice), twice[:22]...), 402, true, true},
		{"2-copy rows and 68 more: exactly 2/3", append(slices.Clone(twice), thrice[:68]...), 400, true, false},
		{"2-copy rows and 67 more", append(slices.Clone(twice), thrice[:67]...), 398, false, false},
		{"all 3-copy rows", thrice, 336, false, false},
		{"honest: every slot", windowSlots(0, w.S), 600, true, true},
	} {
		got, total := q.SignedWeight(w, signWindowSlots(w, tc.slots))
		if total != 600 || got != tc.weight {
			t.Errorf("%s: %d of %d, want %d of 600", tc.name, got, total, tc.weight)
		}
		if m := MeetsThreshold(got, total, 2, 3); m != tc.meets {
			t.Errorf("%s (%d slots): meets %v, want %v", tc.name, len(tc.slots), m, tc.meets)
		}
		if s := 3*len(tc.slots) >= 2*w.S; s != tc.slotRuleSays {
			t.Errorf("%s: the test's slot count is off (%d slots)", tc.name, len(tc.slots))
		}
	}
}

func TestMeetsThreshold(t *testing.T) {
	const max = ^uint64(0)
	for _, tc := range []struct {
		got, total uint64
		num, den   uint32
		want       bool
	}{
		{170, 256, 2, 3, false}, {171, 256, 2, 3, true}, {400, 600, 2, 3, true}, {399, 600, 2, 3, false},
		{0, 0, 2, 3, true}, {0, 1, 2, 3, false}, {1, 1, 1, 1, true},
		{max, max, 2, 3, true}, {max - 1, max, 1, 1, false}, {max, max, 1, 1, true},
		{max/3*2 - 1, max, 2, 3, false}, {max / 3 * 2, max, 2, 3, true}, // max = 3·(max/3): exactly 2/3
		{max, 1, 0xffffffff, 0xffffffff, true}, {1, max, 0xffffffff, 0xffffffff, false},
	} {
		if got := MeetsThreshold(tc.got, tc.total, tc.num, tc.den); got != tc.want {
			t.Errorf("MeetsThreshold(%d, %d, %d/%d) = %v", tc.got, tc.total, tc.num, tc.den, got)
		}
	}
}

func TestMessagesKnownAnswers(t *testing.T) {
	var root, seed Hash
	for i := range root {
		root[i], seed[i] = 9, 9
	}
	if got := hex.EncodeToString(AttestationMessage("zgda-test", 5, 2, root)); got !=
		"7a6764612f76322f6174746573747a6764612d746573740000000000000005000000020909090909090909090909090909090909090909090909090909090909090909" {
		t.Errorf("attestation message %s", got)
	}
	if got := hex.EncodeToString(VRFMessage("zgda-test", 5, seed)); got !=
		"7a6764612f76312f7672667a6764612d7465737400000000000000050909090909090909090909090909090909090909090909090909090909090909" {
		t.Errorf("VRF message %s", got)
	}
	var bh Hash
	for i := range bh {
		bh[i] = 7
	}
	if got := EpochSeed(bh, 3); got.String() != "0xcde46f4b8147c314b107e8d778e9bc3a6eb68322fd996d2cb636c6d9e29f8b24" {
		t.Errorf("epoch seed %s", got)
	}
}

func randomParticipants(rng *rand.Rand, n int, maxBallots uint32) []Participant {
	ps := make([]Participant, n)
	for i := range ps {
		ps[i].Signer = uint32(i * 3)
		for j := range ps[i].VRF {
			ps[i].VRF[j] = byte(rng.Uint32())
		}
		ps[i].Ballots = rng.Uint32N(maxBallots + 1)
	}
	return ps
}

// Properties: determinism under reordering, the right number of quorums and
// slots, every slot held by a participant with ballots, and each
// participant's slots match its tickets that made the cut.
func TestAssignQuorumsProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 60; trial++ {
		m := []int{4, 16, 64, 256}[trial%4]
		ps := randomParticipants(rng, 1+rng.IntN(20), uint32(1+rng.IntN(40)))
		total := 0
		byID := map[uint32]Participant{}
		for _, p := range ps {
			total += int(p.Ballots)
			byID[p.Signer] = p
		}
		qs := AssignQuorums(ps, m)
		shuffled := slices.Clone(ps)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		again := AssignQuorums(shuffled, m)
		if !slices.EqualFunc(qs, again, func(a, b Quorum) bool { return slices.Equal(a, b) }) {
			t.Fatalf("trial %d: depends on input order", trial)
		}
		switch {
		case total == 0:
			if qs != nil {
				t.Fatalf("trial %d: quorums without tickets", trial)
			}
			continue
		case total < m:
			if len(qs) != 1 {
				t.Fatalf("trial %d: %d quorums for %d < %d tickets", trial, len(qs), total, m)
			}
		default:
			if len(qs) != total/m {
				t.Fatalf("trial %d: %d quorums for %d tickets of M=%d", trial, len(qs), total, m)
			}
		}
		held := map[uint32]int{}
		for _, q := range qs {
			if len(q) != m {
				t.Fatalf("trial %d: quorum of %d slots", trial, len(q))
			}
			for _, s := range q {
				p, ok := byID[s]
				if !ok || p.Ballots == 0 {
					t.Fatalf("trial %d: slot held by %d, not a participant with ballots", trial, s)
				}
				held[s]++
			}
		}
		if total >= m {
			for id, n := range held {
				if n > int(byID[id].Ballots) {
					t.Fatalf("trial %d: signer %d holds %d slots with %d ballots", trial, id, n, byID[id].Ballots)
				}
			}
			if total%m == 0 {
				for _, p := range ps {
					if held[p.Signer] != int(p.Ballots) {
						t.Fatalf("trial %d: signer %d holds %d slots, has %d ballots", trial, p.Signer, held[p.Signer], p.Ballots)
					}
				}
			}
		}
	}
}

// Properties of windows: S distinct quorum slots from start, row r held by
// exactly m_r ∈ {q, q+1} window slots, every row weighing Q, and
// Assignments, RowsOf and Holders telling the same story.
func TestWindowProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for trial := 0; trial < 300; trial++ {
		m := []int{4, 256, 512, 1000, 1024, 2048}[rng.IntN(6)]
		n := 4 * (1 + rng.IntN(min(m, MaxDispersedRows)/4))
		minSlots := 1 + rng.IntN(m)
		root := rootWithPrefix(rng.Uint64(), byte(trial))
		w, err := NewWindow(root, n, minSlots, m)
		if err != nil {
			t.Fatalf("trial %d (N=%d W=%d M=%d): %v", trial, n, minSlots, m, err)
		}
		if w.S != max(n, minSlots) || w.Start != int(binary.BigEndian.Uint64(root[:8])%uint64(m)) {
			t.Fatalf("trial %d: window %+v", trial, w)
		}
		q := make(Quorum, m)
		for s := range q {
			q[s] = rng.Uint32N(20)
		}
		qq := w.S / w.N
		big := uint64(qq * (qq + 1))
		seen := map[int]bool{}
		perRow := make([]int, n)
		holders := make([][]uint32, n)
		rowsOf := map[uint32][]uint32{}
		as := q.Assignments(w)
		if len(as) != w.S {
			t.Fatalf("trial %d: %d assignments", trial, len(as))
		}
		for i, a := range as {
			if a.Slot != (w.Start+i)%m || seen[a.Slot] || a.Slot != w.Slot(i) {
				t.Fatalf("trial %d: window slot %d is quorum slot %d", trial, i, a.Slot)
			}
			seen[a.Slot] = true
			if int(a.Row) != i%n || a.Signer != q[a.Slot] {
				t.Fatalf("trial %d: assignment %d = %+v", trial, i, a)
			}
			perRow[a.Row]++
			if !slices.Contains(holders[a.Row], a.Signer) {
				holders[a.Row] = append(holders[a.Row], a.Signer)
			}
			if !slices.Contains(rowsOf[a.Signer], a.Row) {
				rowsOf[a.Signer] = append(rowsOf[a.Signer], a.Row)
			}
		}
		for r := 0; r < n; r++ {
			c := w.Copies(r)
			if perRow[r] != c || (c != qq && c != qq+1) || big%uint64(c) != 0 {
				t.Fatalf("trial %d: row %d has %d slots, Copies %d, q %d", trial, r, perRow[r], c, qq)
			}
			if !slices.Equal(q.Holders(w, r), holders[r]) {
				t.Fatalf("trial %d: holders of row %d", trial, r)
			}
			// Signing every slot of row r alone weighs Q.
			rowSigners := map[uint32]bool{}
			for i := r; i < w.S; i += n {
				rowSigners[uint32(w.Slot(i))] = true
			}
			got, _ := ownSigners(m).SignedWeight(w, func(s uint32) bool { return rowSigners[s] })
			if got != big {
				t.Fatalf("trial %d: row %d weighs %d, want %d", trial, r, got, big)
			}
		}
		for s := uint32(0); s < 21; s++ {
			want := rowsOf[s]
			slices.Sort(want)
			if got := q.RowsOf(w, s); !slices.Equal(got, want) {
				t.Fatalf("trial %d: RowsOf(%d) = %v, want %v", trial, s, got, want)
			}
		}
		got, total := q.SignedWeight(w, func(uint32) bool { return true })
		if got != total || total != uint64(n)*big {
			t.Fatalf("trial %d: everyone signs %d of %d", trial, got, total)
		}
		if got, _ := q.SignedWeight(w, func(uint32) bool { return false }); got != 0 {
			t.Fatalf("trial %d: no one signs %d", trial, got)
		}
	}
}

func BenchmarkAssignQuorums(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 8))
	ps := randomParticipants(rng, 100, 100)
	b.ReportAllocs()
	for b.Loop() {
		AssignQuorums(ps, 1024)
	}
}
