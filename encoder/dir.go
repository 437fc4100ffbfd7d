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

	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/kzg"
)

// An encoded directory (what `zgda encode` writes and `zgda decode` reads)
// holds one batch (docs/spec.md §3.3 Batch matrix, §3.7 Batch root):
//
//	manifest.json   {"codec":"zgda/v2","batch_root","d":D,"k":K,"n":N,
//	                 "blobs":[{"blob_key","length","rows":R,"commitments":[C_0 … C_{R−1}]},…]}
//	row-NNNN.bin    dispersed row NNNN < N: 4096 field elements, 32-byte big-endian each
//
// Row files may be deleted (that is what decoding tolerates); a damaged one
// is reported and left out, never trusted.

const (
	manifestName = "manifest.json"
	codecName    = "zgda/v2"
	rowFileBytes = ElementsPerRow * 32
)

// Manifest describes an encoded directory: the batch header and its counts.
type Manifest struct {
	Codec     string         `json:"codec"`
	BatchRoot string         `json:"batch_root"`
	D         int            `json:"d"`
	K         int            `json:"k"`
	N         int            `json:"n"`
	Blobs     []ManifestBlob `json:"blobs"`
}

// ManifestBlob is one blob's header in a manifest.
type ManifestBlob struct {
	BlobKey     string           `json:"blob_key"`
	Length      int              `json:"length"`
	Rows        int              `json:"rows"`
	Commitments []kzg.Commitment `json:"commitments"`
}

// RowFileName is the file name of dispersed row n.
func RowFileName(n int) string { return fmt.Sprintf("row-%04d.bin", n) }

// WriteDir writes an encoded batch into dir (created if needed), each file
// written to a temporary name, synced and renamed, so that an interrupted
// write leaves no half file under a real name.
func WriteDir(dir string, b *Batch) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("encoder: %w", err)
	}
	buf := make([]byte, rowFileBytes)
	for n, row := range b.Rows {
		for i := range row {
			v := row[i].Bytes()
			copy(buf[i*32:], v[:])
		}
		if err := writeFileAtomic(filepath.Join(dir, RowFileName(n)), buf); err != nil {
			return err
		}
	}
	m := Manifest{Codec: codecName, BatchRoot: b.Root.String(), D: b.D, K: b.K, N: b.N}
	for _, bl := range b.Blobs {
		m.Blobs = append(m.Blobs, ManifestBlob{BlobKey: bl.Key.String(), Length: bl.Length, Rows: len(bl.Rows), Commitments: bl.Commitments})
	}
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
	Header   da.BatchHeader       // checked: keys hash right, counts and root match
	Rows     map[int][]fr.Element // dispersed rows whose files read cleanly
	Damaged  map[int]error        // rows whose files exist but cannot be used, and why
}

// ReadDir reads an encoded directory. The manifest must be intact: every
// blob header must be canonical and hash to its key (da.BatchHeader.Check),
// every commitment a valid point, and d, k, n and batch_root must be the
// header's. Row files that are missing are simply absent; a row file of the
// wrong size or holding a non-canonical field element is listed in Damaged.
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
	if len(m.Blobs) == 0 || len(m.Blobs) > da.MaxBatchBlobs {
		return nil, fmt.Errorf("encoder: %s: %d blobs, want 1 to %d", manifestName, len(m.Blobs), da.MaxBatchBlobs)
	}
	hdr := da.BatchHeader{Blobs: make([]da.BlobHeader, len(m.Blobs))}
	for i, b := range m.Blobs {
		key, err := da.ParseBlobKey(b.BlobKey)
		if err != nil {
			return nil, fmt.Errorf("encoder: %s: blob %d: %w", manifestName, i, err)
		}
		if b.Length <= 0 || b.Length > MaxBlobSize || b.Rows <= 0 || b.Rows > MaxBlobRows {
			return nil, fmt.Errorf("encoder: %s: blob %d: length %d and %d rows are out of range", manifestName, i, b.Length, b.Rows)
		}
		for j := range b.Commitments {
			if _, err := kzg.ParseCommitment(b.Commitments[j][:]); err != nil {
				return nil, fmt.Errorf("encoder: %s: blob %d: commitment %d: %w", manifestName, i, j, err)
			}
		}
		hdr.Blobs[i] = da.BlobHeader{Key: key, Length: uint64(b.Length), Rows: uint32(b.Rows), Commitments: DACommitments(b.Commitments)}
	}
	if err := hdr.Check(); err != nil {
		return nil, fmt.Errorf("encoder: %s: %w", manifestName, err)
	}
	if m.D != hdr.DataRows() || m.K != hdr.MatrixRows() || m.N != hdr.DispersedRows() {
		return nil, fmt.Errorf("encoder: %s: the blobs make d=%d, k=%d, n=%d; the manifest says %d, %d, %d",
			manifestName, hdr.DataRows(), hdr.MatrixRows(), hdr.DispersedRows(), m.D, m.K, m.N)
	}
	if root := hdr.Root().String(); root != m.BatchRoot {
		return nil, fmt.Errorf("encoder: %s: batch_root %s, but the blobs hash to %s", manifestName, m.BatchRoot, root)
	}
	out := &DirContents{Manifest: m, Header: hdr, Rows: map[int][]fr.Element{}, Damaged: map[int]error{}}
	for n := 0; n < m.N; n++ {
		b, err := os.ReadFile(filepath.Join(dir, RowFileName(n)))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			out.Damaged[n] = err
			continue
		}
		row, err := parseRowFile(b)
		if err != nil {
			out.Damaged[n] = err
			continue
		}
		out.Rows[n] = row
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
