package kzg

import (
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
	"go.yaml.in/yaml/v3"
)

// Known-answer tests against the consensus-spec KZG vectors (copied from
// go-eth-kzg's tests/ into testdata/spec).

func specCases(t *testing.T, name string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "spec", name, "kzg-mainnet", "*", "data.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no spec vectors for %s: testdata is missing", name)
	}
	return files
}

func readYAML(t *testing.T, file string, v any) {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

func unhex(s string) ([]byte, error) { return hex.DecodeString(strings.TrimPrefix(s, "0x")) }

// parseRow parses a blob (4096 × 32 bytes) as a row, rejecting malformed
// input as EIP-4844 does.
func parseRow(s string) ([]fr.Element, error) {
	b, err := unhex(s)
	if err != nil {
		return nil, err
	}
	if len(b) != ScalarsPerRow*BytesPerScalar {
		return nil, ErrRowLength
	}
	row := make([]fr.Element, ScalarsPerRow)
	for i := range row {
		if row[i], err = ParseScalar(b[i*32 : (i+1)*32]); err != nil {
			return nil, err
		}
	}
	return row, nil
}

func TestSpecBlobToKZGCommitment(t *testing.T) {
	ctx := testContext()
	for _, file := range specCases(t, "blob_to_kzg_commitment") {
		var tc struct {
			Input struct {
				Blob string `yaml:"blob"`
			} `yaml:"input"`
			Output *string `yaml:"output"`
		}
		readYAML(t, file, &tc)
		name := filepath.Base(filepath.Dir(file))
		row, err := parseRow(tc.Input.Blob)
		if err != nil {
			if tc.Output != nil {
				t.Errorf("%s: valid blob rejected: %v", name, err)
			}
			continue
		}
		if tc.Output == nil {
			t.Errorf("%s: invalid blob accepted", name)
			continue
		}
		got, err := ctx.Commit(row)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got.String() != *tc.Output {
			t.Errorf("%s: commitment %s, want %s", name, got, *tc.Output)
		}
	}
}

func TestSpecComputeCellsAndKZGProofs(t *testing.T) {
	ctx := testContext()
	for _, file := range specCases(t, "compute_cells_and_kzg_proofs") {
		var tc struct {
			Input struct {
				Blob string `yaml:"blob"`
			} `yaml:"input"`
			Output *[2][]string `yaml:"output"`
		}
		readYAML(t, file, &tc)
		name := filepath.Base(filepath.Dir(file))
		row, err := parseRow(tc.Input.Blob)
		if err != nil {
			if tc.Output != nil {
				t.Errorf("%s: valid blob rejected: %v", name, err)
			}
			continue
		}
		if tc.Output == nil {
			t.Errorf("%s: invalid blob accepted", name)
			continue
		}
		cells, proofs, err := ctx.ComputeCellsAndProofs(row)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i := range cells {
			if got := "0x" + hex.EncodeToString(CellBytes(cells[i])); got != tc.Output[0][i] {
				t.Fatalf("%s: cell %d differs", name, i)
			}
			if got := proofs[i].String(); got != tc.Output[1][i] {
				t.Fatalf("%s: proof %d is %s, want %s", name, i, got, tc.Output[1][i])
			}
		}
	}
}

func TestSpecVerifyCellKZGProofBatch(t *testing.T) {
	ctx := testContext()
	for _, file := range specCases(t, "verify_cell_kzg_proof_batch") {
		var tc struct {
			Input struct {
				Commitments []string `yaml:"commitments"`
				CellIndices []uint64 `yaml:"cell_indices"`
				Cells       []string `yaml:"cells"`
				Proofs      []string `yaml:"proofs"`
			} `yaml:"input"`
			Output *bool `yaml:"output"`
		}
		readYAML(t, file, &tc)
		name := filepath.Base(filepath.Dir(file))
		err := verifyHex(ctx, tc.Input.Commitments, tc.Input.CellIndices, tc.Input.Cells, tc.Input.Proofs)
		switch {
		case tc.Output == nil: // malformed input
			if err == nil || IsVerifyFailure(err) {
				t.Errorf("%s: malformed input: got %v, want a parse error", name, err)
			}
		case *tc.Output:
			if err != nil {
				t.Errorf("%s: valid batch rejected: %v", name, err)
			}
		default:
			if !IsVerifyFailure(err) {
				t.Errorf("%s: invalid batch: got %v, want ErrVerify", name, err)
			}
		}
	}
}

// verifyHex parses the spec's hex inputs the way a zgda sampler parses bytes
// from the network, then verifies.
func verifyHex(ctx *Context, comms []string, idx []uint64, cells, proofs []string) error {
	cs := make([]Commitment, len(comms))
	for i, s := range comms {
		b, err := unhex(s)
		if err != nil {
			return err
		}
		if cs[i], err = ParseCommitment(b); err != nil {
			return err
		}
	}
	ps := make([]Proof, len(proofs))
	for i, s := range proofs {
		b, err := unhex(s)
		if err != nil {
			return err
		}
		if ps[i], err = ParseProof(b); err != nil {
			return err
		}
	}
	cl := make([][]fr.Element, len(cells))
	for i, s := range cells {
		b, err := unhex(s)
		if err != nil {
			return err
		}
		if cl[i], err = ParseCell(b); err != nil {
			return err
		}
	}
	return ctx.VerifyCells(cs, idx, cl, ps)
}

func TestParseRejectsMalformedPoints(t *testing.T) {
	good := make([]byte, 48)
	good[0] = 0xc0 // infinity, compressed
	if _, err := ParseCommitment(good); err != nil {
		t.Fatalf("point at infinity rejected: %v", err)
	}
	notOnCurve, _ := unhex("0x8123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
	xTooBig, _ := unhex("0x9fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff")
	uncompressed := make([]byte, 48)
	for name, b := range map[string][]byte{
		"short":           good[:47],
		"long":            append(append([]byte{}, good...), 0),
		"uncompressed":    uncompressed,
		"not on curve":    notOnCurve,
		"x ≥ p":           xTooBig,
		"infinity+bits":   append([]byte{0xc0, 1}, make([]byte, 46)...),
		"infinity+sign":   append([]byte{0xe0}, make([]byte, 47)...),
		"empty":           nil,
		"garbage nonzero": []byte(strings.Repeat("z", 48)),
	} {
		_, err := ParseCommitment(b)
		if !errors.Is(err, ErrInvalidPoint) {
			t.Errorf("%s: got %v, want ErrInvalidPoint", name, err)
		}
	}
	// A point on the curve but outside the prime-order subgroup, from the
	// spec's vectors (verify_cell_kzg_proof_batch ..._invalid_commitment).
	found := false
	for _, file := range specCases(t, "verify_cell_kzg_proof_batch") {
		if !strings.Contains(file, "invalid_commitment") {
			continue
		}
		var tc struct {
			Input struct {
				Commitments []string `yaml:"commitments"`
			} `yaml:"input"`
		}
		readYAML(t, file, &tc)
		for _, s := range tc.Input.Commitments {
			b, err := unhex(s)
			if err != nil || len(b) != 48 {
				continue
			}
			if _, err := ParseCommitment(b); err != nil {
				found = true
				if !errors.Is(err, ErrInvalidPoint) {
					t.Errorf("%s: got %v, want ErrInvalidPoint", file, err)
				}
			}
		}
	}
	if !found {
		t.Error("no invalid commitment in the spec vectors was rejected")
	}
}

func TestParseScalarRejectsNonCanonical(t *testing.T) {
	modulus, _ := unhex("0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001")
	if _, err := ParseScalar(modulus); !errors.Is(err, ErrNonCanonicalScalar) {
		t.Errorf("modulus: got %v", err)
	}
	below := append([]byte{}, modulus...)
	below[31] = 0
	if _, err := ParseScalar(below); err != nil {
		t.Errorf("modulus−1: %v", err)
	}
	if _, err := ParseScalar(make([]byte, 31)); !errors.Is(err, ErrNonCanonicalScalar) {
		t.Errorf("31 bytes: got %v", err)
	}
}
