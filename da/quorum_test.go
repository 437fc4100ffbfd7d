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

func keyWithPrefix(p uint64) BlobKey {
	var k BlobKey
	binary.BigEndian.PutUint64(k[:8], p)
	k[31] = 0xaa
	return k
}

func TestBlobSlotsKnownAnswers(t *testing.T) {
	for _, tc := range []struct {
		rows        uint32
		s           int
		prefix      uint64
		m           int
		first, last int // quorum slots of the blob's slot 0 and slot S-1
		lastRow     uint32
	}{
		{1, 256, 0x405, 1024, 5, 260, 3},               // 1029 mod 1024 = 5; 4 rows, replicated 64×
		{64, 256, 1023, 1024, 1023, 254, 255},          // wraps: 1023+255 = 1278 mod 1024
		{128, 512, 1 << 63, 1024, 0, 511, 511},         // 2^63 mod 1024 = 0
		{256, 1024, 7, 1024, 7, 6, 1023},               // whole quorum, not replicated
		{2, 256, 0xffffffffffffffff, 512, 511, 254, 7}, // (2^64-1) mod 512 = 511
	} {
		key := keyWithPrefix(tc.prefix)
		if got := BlobSlotCount(tc.rows); got != tc.s {
			t.Errorf("K=%d: S=%d, want %d", tc.rows, got, tc.s)
		}
		if got := BlobFirstSlot(key, tc.m); got != tc.first {
			t.Errorf("prefix %#x M=%d: first slot %d, want %d", tc.prefix, tc.m, got, tc.first)
		}
		if got := BlobSlot(key, tc.m, tc.s-1); got != tc.last {
			t.Errorf("prefix %#x M=%d: last slot %d, want %d", tc.prefix, tc.m, got, tc.last)
		}
		if got := BlobSlotRow(tc.rows, tc.s-1); got != tc.lastRow {
			t.Errorf("K=%d: last row %d, want %d", tc.rows, got, tc.lastRow)
		}
	}
}

func TestSignedBlobSlotsByHand(t *testing.T) {
	// M = 512, owners alternate 0,1,2,3; blob K=1 spans 256 slots from 500.
	q := make(Quorum, 512)
	for s := range q {
		q[s] = uint32(s % 4)
	}
	key := keyWithPrefix(500)
	n, s := q.SignedBlobSlots(key, 1, func(x uint32) bool { return x == 0 })
	if n != 64 || s != 256 {
		t.Fatalf("signer 0 alone: %d of %d", n, s)
	}
	n, _ = q.SignedBlobSlots(key, 1, func(x uint32) bool { return x != 3 })
	if n != 192 || !MeetsThreshold(n, s, 2, 3) {
		t.Fatalf("three of four: %d", n)
	}
	if MeetsThreshold(170, 256, 2, 3) || !MeetsThreshold(171, 256, 2, 3) {
		t.Fatal("2/3 of 256 is 171 slots")
	}
	as := q.BlobAssignments(key, 1)
	if len(as) != 256 || as[0].Slot != 500 || as[12].Slot != 0 || as[12].Row != 0 || as[5].Row != 1 || as[12].Signer != 0 {
		t.Fatalf("assignments %v", as[:13])
	}
}

func TestMessagesKnownAnswers(t *testing.T) {
	var root, seed Hash
	for i := range root {
		root[i], seed[i] = 9, 9
	}
	if got := hex.EncodeToString(AttestationMessage("zgda-test", 5, 2, root)); got !=
		"7a6764612f76312f6174746573747a6764612d746573740000000000000005000000020909090909090909090909090909090909090909090909090909090909090909" {
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

// Properties of a blob's slots: S distinct consecutive slots when S ≤ M,
// each extended row held S/4K times.
func TestBlobSlotsProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for trial := 0; trial < 200; trial++ {
		m := 1 << (8 + rng.IntN(4)) // 256..2048
		rows := uint32(1) << rng.IntN(9)
		if int(4*rows) > m {
			rows = uint32(m / 4)
		}
		key := keyWithPrefix(rng.Uint64())
		s := BlobSlotCount(rows)
		seen := map[int]bool{}
		perRow := map[uint32]int{}
		first := BlobFirstSlot(key, m)
		for i := 0; i < s; i++ {
			slot := BlobSlot(key, m, i)
			if slot != (first+i)%m || seen[slot] {
				t.Fatalf("trial %d: slot %d of the blob is quorum slot %d", trial, i, slot)
			}
			seen[slot] = true
			perRow[BlobSlotRow(rows, i)]++
		}
		if len(perRow) != int(4*rows) {
			t.Fatalf("trial %d: %d rows covered, want %d", trial, len(perRow), 4*rows)
		}
		for r, n := range perRow {
			if n != s/int(4*rows) {
				t.Fatalf("trial %d: row %d held %d times", trial, r, n)
			}
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
