package encoder_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
	goethkzg "github.com/crate-crypto/go-eth-kzg"
	"go.yaml.in/yaml/v3"

	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/kzg"
)

func blobEncoder(t testing.TB) *encoder.Encoder {
	t.Helper()
	e, err := encoder.New()
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func blobBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// handPack packs blob into EIP-4844 blobs as docs/spec.md §3.1 Packing says,
// written out here with nothing of ours.
func handPack(blob []byte) []goethkzg.Blob {
	var out []goethkzg.Blob
	for p := 0; p*31 < len(blob); p++ {
		if p%4096 == 0 {
			out = append(out, goethkzg.Blob{})
		}
		e := p % 4096
		copy(out[len(out)-1][e*32+1:e*32+32], blob[p*31:min(len(blob), p*31+31)])
	}
	return out
}

// TestBlobKeyIndependent recomputes blob keys with nothing of ours: bytes
// packed by hand into EIP-4844 blobs, committed by go-eth-kzg, hashed as
// docs/spec.md §3.2 Blob key says. R is exact: 126,977 bytes are 2 rows.
func TestBlobKeyIndependent(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	eth := ethKZG(t)
	e := blobEncoder(t)
	for _, n := range []int{1000, 126977, 3*126976 - 7} {
		blob := blobBytes(rng, n)
		got, err := e.CommitBlob(context.Background(), kzg.Default(), blob, nil)
		if err != nil {
			t.Fatal(err)
		}
		rows := handPack(blob)
		h := sha256.New()
		h.Write([]byte("zgda/v2/blob"))
		h.Write(binary.BigEndian.AppendUint64(nil, uint64(n)))
		h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(rows))))
		for i := range rows {
			c, err := eth.BlobToKZGCommitment(&rows[i], 0)
			if err != nil {
				t.Fatal(err)
			}
			if got.Commitments[i] != kzg.Commitment(c) {
				t.Fatalf("%d bytes: C_%d %s, go-eth-kzg %x", n, i, got.Commitments[i], c)
			}
			h.Write(c[:])
		}
		want := "0x" + hex.EncodeToString(h.Sum(nil))
		if got.Key.String() != want || len(got.Rows) != len(rows) || got.Length != n {
			t.Fatalf("%d bytes: key %s, R %d; independent computation %s, R %d", n, got.Key, len(got.Rows), want, len(rows))
		}
		hdr := got.Header()
		if err := hdr.Check(); err != nil || hdr.Key != got.Key || int(hdr.Rows) != len(rows) {
			t.Fatalf("%d bytes: header %+v: %v", n, hdr, err)
		}
		if encoder.BlobKey(n, got.Commitments) != got.Key {
			t.Fatal("BlobKey disagrees with CommitBlob")
		}
	}
}

func TestNewBlob(t *testing.T) {
	rng := rand.New(rand.NewPCG(37, 38))
	blob := blobBytes(rng, 126976+100)
	e := blobEncoder(t)
	want, err := e.CommitBlob(context.Background(), kzg.Default(), blob, nil)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := encoder.Pack(blob)
	if err != nil {
		t.Fatal(err)
	}
	got, err := encoder.NewBlob(len(blob), rows, want.Commitments)
	if err != nil || got.Key != want.Key || &got.Rows[0][0] != &rows[0][0] {
		t.Fatalf("NewBlob: %v (key %s, want %s)", err, got.Key, want.Key)
	}
	bad := [][]fr.Element{rows[0], slices.Clone(rows[1])}
	bad[1][4000].SetUint64(1) // after the blob's end
	var ce *encoder.CorruptError
	if _, err := encoder.NewBlob(len(blob), bad, want.Commitments); !errors.As(err, &ce) || ce.Row != 1 || ce.Element != 4000 {
		t.Fatalf("non-canonical row: %v", err)
	}
	if _, err := encoder.NewBlob(len(blob), rows[:1], want.Commitments[:1]); !errors.Is(err, encoder.ErrShape) {
		t.Fatalf("one row for two: %v", err)
	}
	if _, err := encoder.NewBlob(0, nil, nil); !errors.Is(err, encoder.ErrEmptyBlob) {
		t.Fatalf("empty: %v", err)
	}
}

func TestCheckCanonicalRow(t *testing.T) {
	const l = 126976 + 40 // row 1 holds 2 pieces: 31 bytes and 9
	rows, err := encoder.Pack(bytes.Repeat([]byte{0xff}, l))
	if err != nil {
		t.Fatal(err)
	}
	big := func() fr.Element { // 2^248
		var b [32]byte
		b[0] = 1
		v, _ := fr.BigEndian.Element(&b)
		return v
	}()
	for _, tc := range []struct {
		name   string
		row    int
		mutate func(r []fr.Element)
		elt    int // −2: no error
	}{
		{"full row", 0, func([]fr.Element) {}, -2},
		{"last row", 1, func([]fr.Element) {}, -2},
		{"element ≥ 2^248", 0, func(r []fr.Element) { r[17] = big }, 17},
		{"padding of the last piece", 1, func(r []fr.Element) { r[1].SetUint64(1) }, 1},
		{"element after the end", 1, func(r []fr.Element) { r[2].SetUint64(1) }, 2},
		{"last element", 1, func(r []fr.Element) { r[4095].SetUint64(5) }, 4095},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := slices.Clone(rows[tc.row])
			tc.mutate(r)
			err := encoder.CheckCanonicalRow(r, l, tc.row)
			if tc.elt == -2 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ce *encoder.CorruptError
			if !errors.Is(err, encoder.ErrCorruptData) || !errors.As(err, &ce) || ce.Row != tc.row || ce.Element != tc.elt {
				t.Fatalf("got %v, want row %d element %d", err, tc.row, tc.elt)
			}
		})
	}
	if err := encoder.CheckCanonicalRow(rows[0], l, 2); !errors.Is(err, encoder.ErrShape) {
		t.Errorf("row 2 of 2: %v", err)
	}
	if err := encoder.CheckCanonicalRow(rows[0][:5], l, 0); !errors.Is(err, encoder.ErrCorruptData) {
		t.Errorf("short row: %v", err)
	}
	if err := encoder.CheckCanonicalRow(rows[0], 0, 0); !errors.Is(err, encoder.ErrEmptyBlob) {
		t.Errorf("length 0: %v", err)
	}
}

func TestEncodeBlobBadInput(t *testing.T) {
	e := blobEncoder(t)
	if _, err := e.EncodeBlob(context.Background(), kzg.Default(), nil, nil); !errors.Is(err, encoder.ErrEmptyBlob) {
		t.Errorf("empty: %v", err)
	}
	big := make([]byte, encoder.MaxBlobSize+1)
	if _, err := e.EncodeBlob(context.Background(), kzg.Default(), big, nil); !errors.Is(err, encoder.ErrBlobTooLarge) {
		t.Errorf("too large: %v", err)
	}
}

// TestSpecRecoverCellsAndKZGProofs runs the consensus-spec vectors of
// recover_cells_and_kzg_proofs through RecoverCells and kzg.
func TestSpecRecoverCellsAndKZGProofs(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "kzg", "testdata", "spec", "recover_cells_and_kzg_proofs", "kzg-mainnet", "*", "data.yaml"))
	if len(files) == 0 {
		t.Fatal("no recover_cells_and_kzg_proofs vectors: kzg/testdata is missing")
	}
	e := blobEncoder(t)
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var tc struct {
			Input struct {
				CellIndices []uint64 `yaml:"cell_indices"`
				Cells       []string `yaml:"cells"`
			} `yaml:"input"`
			Output *[2][]string `yaml:"output"`
		}
		if err := yaml.Unmarshal(raw, &tc); err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(filepath.Dir(file))
		cells, perr := parseCells(tc.Input.CellIndices, tc.Input.Cells)
		var row []fr.Element
		if perr == nil {
			row, perr = e.RecoverCells(context.Background(), cells)
		}
		if perr != nil {
			if tc.Output != nil {
				t.Errorf("%s: valid input rejected: %v", name, perr)
			}
			continue
		}
		if tc.Output == nil {
			t.Errorf("%s: invalid input accepted", name)
			continue
		}
		gotCells, proofs, err := kzg.Default().ComputeCellsAndProofs(row)
		if err != nil {
			t.Fatal(err)
		}
		for i := range gotCells {
			if "0x"+hex.EncodeToString(kzg.CellBytes(gotCells[i])) != tc.Output[0][i] || proofs[i].String() != tc.Output[1][i] {
				t.Fatalf("%s: cell or proof %d differs", name, i)
			}
		}
	}
}

// parseCells parses the spec's cells with the checks a node applies to bytes
// from the network; duplicates and out-of-range indices are errors.
func parseCells(idx []uint64, hexCells []string) (map[int][]fr.Element, error) {
	if len(idx) != len(hexCells) {
		return nil, errors.New("indices and cells differ in number")
	}
	out := map[int][]fr.Element{}
	for i, s := range hexCells {
		b, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
		if err != nil {
			return nil, err
		}
		cell, err := kzg.ParseCell(b)
		if err != nil {
			return nil, err
		}
		if idx[i] >= kzg.CellsPerRow {
			return nil, errors.New("cell index out of range")
		}
		if _, dup := out[int(idx[i])]; dup {
			return nil, errors.New("duplicate cell index")
		}
		out[int(idx[i])] = cell
	}
	return out, nil
}
