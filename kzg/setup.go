package kzg

import (
	"bytes"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr/fft"
)

// trustedSetupJSON is Ethereum's KZG-ceremony setup (the mainnet one that
// the consensus-spec vectors use), as distributed with go-eth-kzg: 4096 G1
// points in monomial and (natural-order) Lagrange form and 65 G2 points.
//
//go:embed trusted_setup.json
var trustedSetupJSON []byte

type setupJSON struct {
	G1Monomial []string `json:"g1_monomial"`
	G1Lagrange []string `json:"g1_lagrange"`
	G2Monomial []string `json:"g2_monomial"`
}

// setup is the parsed trusted setup.
type setup struct {
	lagrange []bls.G1Affine // Lagrange bases in bit-reversed order (evaluation order of a row)
	monomial []bls.G1Affine // [τ^i]G1, i < 4096
	g2       bls.G2Affine   // the G2 generator [1]G2
	g2Cell   bls.G2Affine   // [τ^64]G2, the cell-proof verification key
}

// parseSetup decodes the embedded setup. Subgroup checks are skipped here
// for start-up speed; TestTrustedSetupWellFormed checks every point.
func parseSetup(raw []byte) (*setup, error) {
	var js setupJSON
	if err := json.Unmarshal(raw, &js); err != nil {
		return nil, fmt.Errorf("kzg: trusted setup: %w", err)
	}
	if len(js.G1Lagrange) != ScalarsPerRow || len(js.G1Monomial) != ScalarsPerRow {
		return nil, fmt.Errorf("kzg: trusted setup: want %d G1 points, have %d Lagrange and %d monomial",
			ScalarsPerRow, len(js.G1Lagrange), len(js.G1Monomial))
	}
	lag, err := decodeG1(js.G1Lagrange)
	if err != nil {
		return nil, fmt.Errorf("kzg: trusted setup g1_lagrange: %w", err)
	}
	mono, err := decodeG1(js.G1Monomial)
	if err != nil {
		return nil, fmt.Errorf("kzg: trusted setup g1_monomial: %w", err)
	}
	fft.BitReverse(lag)
	if len(js.G2Monomial) <= ScalarsPerCell {
		return nil, fmt.Errorf("kzg: trusted setup: want more than %d G2 points, have %d", ScalarsPerCell, len(js.G2Monomial))
	}
	st := &setup{lagrange: lag, monomial: mono}
	for _, x := range []struct {
		dst *bls.G2Affine
		i   int
	}{{&st.g2, 0}, {&st.g2Cell, ScalarsPerCell}} {
		b, err := hex.DecodeString(strings.TrimPrefix(js.G2Monomial[x.i], "0x"))
		if err == nil {
			_, err = x.dst.SetBytes(b)
		}
		if err != nil {
			return nil, fmt.Errorf("kzg: trusted setup g2_monomial point %d: %v", x.i, err)
		}
	}
	return st, nil
}

func decodeG1(hexPoints []string) ([]bls.G1Affine, error) {
	buf := make([]byte, 0, len(hexPoints)*bls.SizeOfG1AffineCompressed)
	for i, h := range hexPoints {
		b, err := hex.DecodeString(strings.TrimPrefix(h, "0x"))
		if err != nil || len(b) != bls.SizeOfG1AffineCompressed {
			return nil, fmt.Errorf("point %d: not 48 hex-encoded bytes", i)
		}
		buf = append(buf, b...)
	}
	pts := make([]bls.G1Affine, len(hexPoints))
	dec := bls.NewDecoder(bytes.NewReader(buf), bls.NoSubgroupChecks())
	for i := range pts {
		if err := dec.Decode(&pts[i]); err != nil {
			return nil, fmt.Errorf("point %d: %w", i, err)
		}
	}
	return pts, nil
}
