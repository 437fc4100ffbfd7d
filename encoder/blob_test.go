package encoder_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
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

// TestBlobKeyIndependent recomputes a blob key with nothing of ours: bytes
// packed by hand into an EIP-4844 blob, committed by go-eth-kzg, hashed as
// DESIGN.md §3 says.
func TestBlobKeyIndependent(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	blob := blobBytes(rng, 1000)
	enc, err := blobEncoder(t).EncodeBlob(context.Background(), kzg.Default(), blob, nil)
	if err != nil {
		t.Fatal(err)
	}
	var eb goethkzg.Blob
	for p := 0; p*31 < len(blob); p++ {
		copy(eb[p*32+1:p*32+32], blob[p*31:min(len(blob), p*31+31)])
	}
	ctx, err := goethkzg.NewContext4096Secure()
	if err != nil {
		t.Fatal(err)
	}
	c0, err := ctx.BlobToKZGCommitment(&eb, 0)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	h.Write([]byte("zgda/v1/blob"))
	h.Write(binary.BigEndian.AppendUint64(nil, 1000))
	h.Write(binary.BigEndian.AppendUint32(nil, 1))
	h.Write(c0[:])
	want := "0x" + hex.EncodeToString(h.Sum(nil))
	if enc.Key.String() != want {
		t.Fatalf("blob key %s, independent computation %s", enc.Key, want)
	}
	if enc.Params.K != 1 || len(enc.Rows) != 4 || len(enc.Commitments) != 4 {
		t.Fatalf("K=%d, %d rows, %d commitments", enc.Params.K, len(enc.Rows), len(enc.Commitments))
	}
	for j := range enc.Rows {
		c, err := kzg.Default().Commit(enc.Rows[j])
		if err != nil || c != enc.Commitments[j] {
			t.Fatalf("row %d: commitment %s, listed %s (%v)", j, c, enc.Commitments[j], err)
		}
	}
}

func TestDecodeBlobRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	e := blobEncoder(t)
	sizes := []int{1, 126976, 126977, 3 * 126976}
	for _, n := range sizes {
		blob := blobBytes(rng, n)
		enc, err := e.EncodeBlob(context.Background(), kzg.Default(), blob, nil)
		if err != nil {
			t.Fatal(err)
		}
		k, ext := enc.Params.K, enc.Params.ExtendedRows()
		// Any K rows, chosen at random.
		rows := map[int][]fr.Element{}
		for _, j := range rng.Perm(ext)[:k] {
			rows[j] = enc.Rows[j]
		}
		got, rejected, err := e.DecodeBlob(context.Background(), kzg.Default(), n, enc.DataCommitments(), rows, nil)
		if err != nil || rejected != nil {
			t.Fatalf("%d bytes: %v (rejected %v)", n, err, rejected)
		}
		if string(got) != string(blob) {
			t.Fatalf("%d bytes: decoded bytes differ", n)
		}
	}
}

func TestDecodeBlobRejectsCorruptRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(35, 36))
	e := blobEncoder(t)
	blob := blobBytes(rng, 2*126976) // K = 2, 8 rows
	enc, err := e.EncodeBlob(context.Background(), kzg.Default(), blob, nil)
	if err != nil {
		t.Fatal(err)
	}
	corrupt := func(j int) []fr.Element {
		r := append([]fr.Element{}, enc.Rows[j]...)
		r[100].SetUint64(42)
		return r
	}
	// Three rows, one corrupted: the other two suffice, the bad one is named.
	rows := map[int][]fr.Element{1: enc.Rows[1], 5: corrupt(5), 6: enc.Rows[6]}
	got, rejected, err := e.DecodeBlob(context.Background(), kzg.Default(), len(blob), enc.DataCommitments(), rows, nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(blob) || len(rejected) != 1 || rejected[0] != 5 {
		t.Fatalf("rejected %v, bytes equal %v", rejected, string(got) == string(blob))
	}
	// Two rows, one corrupted: not enough left, and the error says which.
	rows = map[int][]fr.Element{2: corrupt(2), 7: enc.Rows[7]}
	_, _, err = e.DecodeBlob(context.Background(), kzg.Default(), len(blob), enc.DataCommitments(), rows, nil)
	var rr *encoder.RowsRejectedError
	if !errors.As(err, &rr) || len(rr.Rows) != 1 || rr.Rows[0] != 2 || !errors.Is(err, encoder.ErrNotEnoughRows) {
		t.Fatalf("got %v", err)
	}
	// Bad arguments.
	if _, _, err := e.DecodeBlob(context.Background(), kzg.Default(), len(blob), enc.DataCommitments()[:1], rows, nil); err == nil {
		t.Fatal("wrong number of commitments accepted")
	}
	if _, _, err := e.DecodeBlob(context.Background(), kzg.Default(), len(blob), enc.DataCommitments(), map[int][]fr.Element{8: enc.Rows[0]}, nil); err == nil {
		t.Fatal("row index 8 of 8 accepted")
	}
	if _, _, err := e.DecodeBlob(context.Background(), kzg.Default(), len(blob), enc.DataCommitments(), map[int][]fr.Element{0: enc.Rows[0][:5]}, nil); err == nil {
		t.Fatal("short row accepted")
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
