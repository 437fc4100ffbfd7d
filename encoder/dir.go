package encoder

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

	"github.com/zgda/zgda/kzg"
)

// An encoded directory (what `zgda encode` writes and `zgda decode` reads):
//
//	manifest.json   {"codec":"zgda/v1","blob_key","length","rows":K,"extended_rows":4K,"commitments":[C_0 … C_{4K−1}]}
//	row-NNNN.bin    extended row NNNN: 4096 field elements, 32-byte big-endian each
//
// Row files may be deleted (that is what decoding tolerates); a damaged one
// is reported and left out, never trusted.

const (
	manifestName = "manifest.json"
	codecName    = "zgda/v1"
	rowFileBytes = ElementsPerRow * 32
)

// Manifest describes an encoded directory.
type Manifest struct {
	Codec        string           `json:"codec"`
	BlobKey      string           `json:"blob_key"`
	Length       int              `json:"length"`
	Rows         int              `json:"rows"`
	ExtendedRows int              `json:"extended_rows"`
	Commitments  []kzg.Commitment `json:"commitments"`
}

// RowFileName is the file name of extended row j.
func RowFileName(j int) string { return fmt.Sprintf("row-%04d.bin", j) }

// WriteDir writes an encoded blob into dir (created if needed), each file
// written to a temporary name, synced and renamed, so that an interrupted
// write leaves no half file under a real name.
func WriteDir(dir string, e *Encoded) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("encoder: %w", err)
	}
	buf := make([]byte, rowFileBytes)
	for j, row := range e.Rows {
		for i := range row {
			b := row[i].Bytes()
			copy(buf[i*32:], b[:])
		}
		if err := writeFileAtomic(filepath.Join(dir, RowFileName(j)), buf); err != nil {
			return err
		}
	}
	m := Manifest{Codec: codecName, BlobKey: e.Key.String(), Length: e.Params.Length,
		Rows: e.Params.K, ExtendedRows: e.Params.ExtendedRows(), Commitments: e.Commitments}
	js, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, manifestName), append(js, '\n'))
}

func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("encoder: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("encoder: writing %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("encoder: syncing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("encoder: %w", err)
	}
	return os.Rename(tmp, path)
}

// DirContents is what ReadDir found.
type DirContents struct {
	Manifest Manifest
	Data     []kzg.Commitment     // C_0 … C_{K−1}, checked against the blob key
	Rows     map[int][]fr.Element // rows whose files read cleanly
	Damaged  map[int]error        // rows whose files exist but cannot be used, and why
}

// ReadDir reads an encoded directory. The manifest must be intact: its
// commitments are parsed with every check and must hash to its blob key.
// Row files that are missing are simply absent; a row file of the wrong size
// or holding a non-canonical field element is listed in Damaged.
func ReadDir(dir string) (*DirContents, error) {
	raw, err := os.ReadFile(filepath.Join(dir, manifestName))
	if err != nil {
		return nil, fmt.Errorf("encoder: %w (is %s a directory written by 'zgda encode'?)", err, dir)
	}
	var m Manifest
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("encoder: %s: %w", manifestName, err)
	}
	if m.Codec != codecName {
		return nil, fmt.Errorf("encoder: %s: codec %q, want %q", manifestName, m.Codec, codecName)
	}
	p, err := ParamsFor(m.Length)
	if err != nil {
		return nil, fmt.Errorf("encoder: %s: length: %w", manifestName, err)
	}
	if m.Rows != p.K || m.ExtendedRows != p.ExtendedRows() || len(m.Commitments) != p.ExtendedRows() {
		return nil, fmt.Errorf("encoder: %s: a %d-byte blob has %d rows and %d extended rows, manifest says %d, %d with %d commitments",
			manifestName, m.Length, p.K, p.ExtendedRows(), m.Rows, m.ExtendedRows, len(m.Commitments))
	}
	data := make([]kzg.Commitment, p.K)
	for i := range data {
		if data[i], err = kzg.ParseCommitment(m.Commitments[i][:]); err != nil {
			return nil, fmt.Errorf("encoder: %s: %w", manifestName, err)
		}
	}
	if key := BlobKey(m.Length, data).String(); key != m.BlobKey {
		return nil, fmt.Errorf("encoder: %s: blob_key %s does not match its length and commitments (they hash to %s)", manifestName, m.BlobKey, key)
	}
	out := &DirContents{Manifest: m, Data: data, Rows: map[int][]fr.Element{}, Damaged: map[int]error{}}
	for j := 0; j < p.ExtendedRows(); j++ {
		b, err := os.ReadFile(filepath.Join(dir, RowFileName(j)))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			out.Damaged[j] = err
			continue
		}
		row, err := parseRowFile(b)
		if err != nil {
			out.Damaged[j] = err
			continue
		}
		out.Rows[j] = row
	}
	return out, nil
}

func parseRowFile(b []byte) ([]fr.Element, error) {
	if len(b) != rowFileBytes {
		return nil, fmt.Errorf("%d bytes, want %d (truncated or not a row file)", len(b), rowFileBytes)
	}
	row := make([]fr.Element, ElementsPerRow)
	for i := range row {
		if err := row[i].SetBytesCanonical(b[i*32 : (i+1)*32]); err != nil {
			return nil, fmt.Errorf("element %d is not a canonical field element (0x%s…)", i, hex.EncodeToString(b[i*32:i*32+4]))
		}
	}
	return row, nil
}
