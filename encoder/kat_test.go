package encoder_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
	goethkzg "github.com/crate-crypto/go-eth-kzg"

	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/kzg"
)

var update = flag.Bool("update", false, "rewrite testdata/kat/*.json from the code (then check them as usual)")

// Known-answer vectors of whole batches (docs/spec.md §3.1 Packing … §3.7 Batch
// root), one file per batch under testdata/kat. Blob bytes come from a seed
// (SHA-256 in counter mode, see seededBytes), so the files stay small: they
// hold keys, the batch root, the parity commitments, a hash of all dispersed
// rows and a few cells with their proofs. Every vector is also checked with
// nothing of ours where that is practical: go-eth-kzg commitments of hand-
// packed data rows and of parity rows, keys and root hashed as the spec
// says, parity commitments as the plain Lagrange sum in G1, and cells
// through go-eth-kzg's VerifyCellKZGProofBatch.

// katCase is how a vector's batch is made.
type katCase struct {
	name    string
	lengths []int
	cells   [][2]int // (dispersed row, cell); negative rows count from N
	heavy   bool     // skipped with -short
}

var katCases = []katCase{
	{name: "one-blob", lengths: []int{1000}, cells: [][2]int{{0, 0}, {1, 127}, {3, 64}}},
	{name: "mixed-d6", lengths: []int{1, 3, 2*encoder.BytesPerRow + 5, encoder.BytesPerRow},
		cells: [][2]int{{0, 3}, {5, 0}, {6, 100}, {-1, 127}}},
	{name: "mixed-d9", lengths: []int{4*encoder.BytesPerRow + 1, 77, 3 * encoder.BytesPerRow},
		cells: [][2]int{{4, 1}, {8, 64}, {9, 9}, {-1, 0}}},
	{name: "d256", lengths: []int{200 * encoder.BytesPerRow, 55*encoder.BytesPerRow + 13},
		cells: [][2]int{{0, 0}, {255, 127}, {256, 1}, {-1, 65}}, heavy: true},
}

// katFile is the JSON of one vector.
type katFile struct {
	Name   string    `json:"name"`
	Blobs  []katBlob `json:"blobs"`
	D      int       `json:"d"`
	K      int       `json:"k"`
	N      int       `json:"n"`
	Root   string    `json:"batch_root"`
	Parity []string  `json:"parity_commitments,omitempty"` // when 3D ≤ 30
	// ParitySHA256 is SHA-256 over the 3D parity commitments in order.
	ParitySHA256 string `json:"parity_commitments_sha256"`
	// RowsSHA256 is SHA-256 over the N dispersed rows' bytes in order.
	RowsSHA256 string    `json:"rows_sha256"`
	Cells      []katCell `json:"cells"`
}

type katBlob struct {
	Seed   string `json:"seed"` // bytes = SHA-256(seed ‖ uint64_be(i)), i = 0, 1, …, cut to length
	Length int    `json:"length"`
	Rows   int    `json:"rows"`
	Key    string `json:"blob_key"`
}

type katCell struct {
	Row        int    `json:"row"`
	Cell       int    `json:"cell"`
	CellSHA256 string `json:"cell_sha256"`
	Proof      string `json:"proof"`
}

// seededBytes is n bytes of SHA-256(seed ‖ uint64_be(i)) for i = 0, 1, ….
func seededBytes(seed []byte, n int) []byte {
	out := make([]byte, 0, n+32)
	var ctr [8]byte
	for i := uint64(0); len(out) < n; i++ {
		binary.BigEndian.PutUint64(ctr[:], i)
		h := sha256.New()
		h.Write(seed)
		h.Write(ctr[:])
		out = h.Sum(out)
	}
	return out[:n]
}

func katSeed(name string, i int) []byte {
	s := sha256.Sum256([]byte(fmt.Sprintf("zgda/v2 kat %s blob %d", name, i)))
	return s[:]
}

func hexOf(b []byte) string { return "0x" + hex.EncodeToString(b) }

func rowBytes(row []fr.Element) []byte {
	out := make([]byte, 0, 32*len(row))
	for i := range row {
		v := row[i].Bytes()
		out = append(out, v[:]...)
	}
	return out
}

func TestKnownAnswerBatches(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "kat", "*.json"))
	if len(files) == 0 && !*update {
		t.Fatal("no known-answer vectors under testdata/kat (run go test ./encoder -run KnownAnswer -update)")
	}
	if !*update && len(files) != len(katCases) {
		t.Fatalf("%d vector files, %d cases", len(files), len(katCases))
	}
	e := blobEncoder(t)
	for _, kc := range katCases {
		t.Run(kc.name, func(t *testing.T) {
			if kc.heavy && testing.Short() && !*update {
				t.Skip("D = 256 vector: skipped with -short")
			}
			raw, b, got := buildKAT(t, e, kc)
			path := filepath.Join("testdata", "kat", kc.name+".json")
			if *update {
				js, err := json.MarshalIndent(got, "", "  ")
				if err != nil {
					t.Fatal(err)
				}
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, append(js, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			js, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var want katFile
			if err := json.Unmarshal(js, &want); err != nil {
				t.Fatal(err)
			}
			gotJS, _ := json.Marshal(got)
			wantJS, _ := json.Marshal(want)
			if string(gotJS) != string(wantJS) {
				t.Fatalf("the code no longer produces %s:\n got  %s\n want %s", path, gotJS, wantJS)
			}
			checkKATIndependently(t, kc, raw, b, &want)
		})
	}
}

// buildKAT encodes a case and returns its blobs' bytes, the batch and its vector.
func buildKAT(t *testing.T, e *encoder.Encoder, kc katCase) ([][]byte, *encoder.Batch, *katFile) {
	t.Helper()
	ctx := context.Background()
	var raw [][]byte
	var blobs []*encoder.Blob
	out := &katFile{Name: kc.name}
	for i, n := range kc.lengths {
		seed := katSeed(kc.name, i)
		raw = append(raw, seededBytes(seed, n))
		bl, err := e.CommitBlob(ctx, kzg.Default(), raw[i], nil)
		if err != nil {
			t.Fatal(err)
		}
		blobs = append(blobs, bl)
		out.Blobs = append(out.Blobs, katBlob{Seed: hexOf(seed), Length: n, Rows: len(bl.Rows), Key: bl.Key.String()})
	}
	b, err := e.EncodeBatch(ctx, kzg.Default(), blobs, nil)
	if err != nil {
		t.Fatal(err)
	}
	out.D, out.K, out.N, out.Root = b.D, b.K, b.N, b.Root.String()
	ph := sha256.New()
	for _, c := range b.Commitments[b.D:] {
		ph.Write(c[:])
		if 3*b.D <= 30 {
			out.Parity = append(out.Parity, c.String())
		}
	}
	out.ParitySHA256 = hexOf(ph.Sum(nil))
	rh := sha256.New()
	for _, r := range b.Rows {
		rh.Write(rowBytes(r))
	}
	out.RowsSHA256 = hexOf(rh.Sum(nil))
	for _, rc := range kc.cells {
		n := rc[0]
		if n < 0 {
			n += b.N
		}
		cells, proofs, err := kzg.Default().ComputeCellsAndProofs(b.Rows[n])
		if err != nil {
			t.Fatal(err)
		}
		cb := sha256.Sum256(kzg.CellBytes(cells[rc[1]]))
		out.Cells = append(out.Cells, katCell{Row: n, Cell: rc[1], CellSHA256: hexOf(cb[:]), Proof: proofs[rc[1]].String()})
	}
	return raw, b, out
}

// checkKATIndependently checks a vector with code that is not the codec's.
func checkKATIndependently(t *testing.T, kc katCase, raw [][]byte, b *encoder.Batch, want *katFile) {
	t.Helper()
	eth := ethKZG(t)
	rng := rand.New(rand.NewPCG(uint64(len(kc.name)), 7))
	all := !kc.heavy || long()
	sample := func(lo, hi, n int) []int { // rows [lo, hi) to check: all, or n at random
		if all || hi-lo <= n {
			return seqInts(lo, hi)
		}
		p := rng.Perm(hi - lo)[:n]
		for i := range p {
			p[i] += lo
		}
		return p
	}
	// Data rows: packed by hand, committed by go-eth-kzg, keys hashed.
	var dataComms []kzg.Commitment
	var leaves [][]byte
	o := 0
	for i, bl := range want.Blobs {
		rows := handPack(raw[i])
		if len(rows) != bl.Rows {
			t.Fatalf("blob %d: %d rows by hand, %d in the vector", i, len(rows), bl.Rows)
		}
		h := sha256.New()
		h.Write([]byte("zgda/v2/blob"))
		h.Write(binary.BigEndian.AppendUint64(nil, uint64(bl.Length)))
		h.Write(binary.BigEndian.AppendUint32(nil, uint32(bl.Rows)))
		for r := range rows {
			if string(rowBytes(b.Rows[o+r])) != string(rows[r][:]) {
				t.Fatalf("blob %d row %d: packing differs from packing by hand", i, r)
			}
			h.Write(b.Commitments[o+r][:])
		}
		for _, r := range sample(0, len(rows), 8) {
			c, err := eth.BlobToKZGCommitment(&rows[r], 0)
			if err != nil {
				t.Fatal(err)
			}
			if kzg.Commitment(c) != b.Commitments[o+r] {
				t.Fatalf("blob %d row %d: go-eth-kzg commits to %x, the batch lists %s", i, r, c, b.Commitments[o+r])
			}
		}
		if key := hexOf(h.Sum(nil)); key != bl.Key {
			t.Fatalf("blob %d: key %s by hand, %s in the vector", i, key, bl.Key)
		}
		key, _ := hex.DecodeString(bl.Key[2:])
		leaves = append(leaves, binary.BigEndian.AppendUint32(key, uint32(bl.Rows)))
		dataComms = append(dataComms, b.Commitments[o:o+bl.Rows]...)
		o += bl.Rows
	}
	if root := hexOf(rfc6962(leaves)); root != want.Root {
		t.Fatalf("batch root %s by hand, %s in the vector", root, want.Root)
	}
	// Parity rows: go-eth-kzg's commitment of the row equals the Lagrange sum.
	for _, n := range sample(b.D, b.N, 8) {
		c, err := eth.BlobToKZGCommitment(toBlob(b.Rows[n]), 0)
		if err != nil {
			t.Fatal(err)
		}
		lc := lagrangeCommitment(t, dataComms, b.K, b.K+n-b.D)
		if kzg.Commitment(c) != b.Commitments[n] || lc != b.Commitments[n] {
			t.Fatalf("parity row %d: go-eth-kzg %x, Lagrange %s, the batch %s", n, c, lc, b.Commitments[n])
		}
	}
	// Cells: the proofs verify with go-eth-kzg.
	var comms []goethkzg.KZGCommitment
	var idx []uint64
	var cells []*goethkzg.Cell
	var proofs []goethkzg.KZGProof
	for _, kc := range want.Cells {
		ec, err := eth.ComputeCells(toBlob(b.Rows[kc.Row]), 0)
		if err != nil {
			t.Fatal(err)
		}
		if h := sha256.Sum256(ec[kc.Cell][:]); hexOf(h[:]) != kc.CellSHA256 {
			t.Fatalf("cell (%d, %d): go-eth-kzg's cell hashes to %x", kc.Row, kc.Cell, h)
		}
		p, err := hex.DecodeString(kc.Proof[2:])
		if err != nil {
			t.Fatal(err)
		}
		comms = append(comms, goethkzg.KZGCommitment(b.Commitments[kc.Row]))
		idx = append(idx, uint64(kc.Cell))
		cells = append(cells, ec[kc.Cell])
		proofs = append(proofs, goethkzg.KZGProof(p))
	}
	if err := eth.VerifyCellKZGProofBatch(comms, idx, cells, proofs); err != nil {
		t.Fatalf("go-eth-kzg rejects the vector's cells: %v", err)
	}
	// And a wrong proof is rejected (the check can fail).
	proofs[0] = proofs[len(proofs)-1]
	if slices.Equal(idx[:1], idx[len(idx)-1:]) && comms[0] == comms[len(comms)-1] {
		return
	}
	if err := eth.VerifyCellKZGProofBatch(comms, idx, cells, proofs); err == nil {
		t.Fatal("go-eth-kzg accepts a swapped proof")
	}
}

// rfc6962 is the Merkle Tree Hash of RFC 6962 §2.1 over the leaves,
// written out here (docs/spec.md §3.7 Batch root).
func rfc6962(leaves [][]byte) []byte {
	if len(leaves) == 1 {
		h := sha256.Sum256(append([]byte{0}, leaves[0]...))
		return h[:]
	}
	k := 1
	for 2*k < len(leaves) {
		k *= 2
	}
	h := sha256.New()
	h.Write([]byte{1})
	h.Write(rfc6962(leaves[:k]))
	h.Write(rfc6962(leaves[k:]))
	return h.Sum(nil)
}

// lagrangeCommitment is C_j = Σ_{i<D} ℓ_i(x_j)·C_i, ℓ_i(x) = x_i·(x^K − 1)/
// (K·(x − x_i)), x_i = ω_K^brp(i), x_j = ω_4K^brp(j) (docs/spec.md §3.4 Column
// extension), in plain G1 arithmetic.
func lagrangeCommitment(t testing.TB, data []kzg.Commitment, k, j int) kzg.Commitment {
	t.Helper()
	root := func(n, e int) fr.Element {
		w, err := fr.Generator(uint64(n))
		if err != nil {
			t.Fatal(err)
		}
		var r fr.Element
		r.Exp(w, big.NewInt(int64(e)))
		return r
	}
	x := root(4*k, bitReverse(j, log2(4*k)))
	var xk, kk fr.Element
	xk.Exp(x, big.NewInt(int64(k)))
	xk.Sub(&xk, new(fr.Element).SetOne())
	kk.SetUint64(uint64(k))
	var sum bls.G1Jac
	for i := range data {
		xi := root(k, bitReverse(i, log2(k)))
		var l, den fr.Element
		den.Sub(&x, &xi).Mul(&den, &kk).Inverse(&den)
		l.Mul(&xi, &xk).Mul(&l, &den)
		var p bls.G1Affine
		if _, err := p.SetBytes(data[i][:]); err != nil {
			t.Fatal(err)
		}
		var li big.Int
		var term bls.G1Jac
		term.FromAffine(&p)
		term.ScalarMultiplication(&term, l.BigInt(&li))
		sum.AddAssign(&term)
	}
	var out bls.G1Affine
	out.FromJacobian(&sum)
	return kzg.Commitment(out.Bytes())
}
