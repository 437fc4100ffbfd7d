package da

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// Sizes of the zgda/v2 codec (docs/spec.md §3). The field arithmetic is the
// encoder's; the counting is here, so that every package agrees on it.
const (
	// BytesPerRow is the payload of one row: 4096 elements of 31 bytes.
	BytesPerRow = 126976
	// MaxBlobRows is the most rows R of one blob.
	MaxBlobRows = 256
	// MaxBlobLength is MaxBlobSize: MaxBlobRows rows of BytesPerRow.
	MaxBlobLength = MaxBlobRows * BytesPerRow // 32,505,856
	// MaxBatchRows bounds D, the data rows of one batch matrix.
	MaxBatchRows = 256
	// ExtensionFactor is the column code's rate inverse: D data rows are
	// dispersed as N = 4D rows.
	ExtensionFactor = 4
	// MaxBatchBlobs is the most blobs of a batch (each has R ≥ 1).
	MaxBatchBlobs = MaxBatchRows
	// MaxDispersedRows is N for the largest batch.
	MaxDispersedRows = ExtensionFactor * MaxBatchRows
)

// ErrHeader marks a blob or batch header that is not canonical or does not
// hash to its key.
var ErrHeader = errors.New("da: bad header")

// blobKeyDomain separates v2 blob keys from every other SHA-256 in zgda.
const blobKeyDomain = "zgda/v2/blob"

// RowsFor is R = ceil(L / BytesPerRow), the rows of a blob of length L
// (0 for L = 0; callers check the range).
func RowsFor(length uint64) uint32 {
	return uint32((length + BytesPerRow - 1) / BytesPerRow)
}

// ComputeBlobKey is the key of a blob of the given length whose R =
// len(comms) data rows have commitments comms (docs/spec.md §3.2):
// SHA-256("zgda/v2/blob" ‖ uint64_be(L) ‖ uint32_be(R) ‖ C_0 ‖ … ‖ C_{R−1}).
func ComputeBlobKey(length uint64, comms []Commitment) BlobKey {
	h := sha256.New()
	var b [len(blobKeyDomain) + 12]byte
	copy(b[:], blobKeyDomain)
	binary.BigEndian.PutUint64(b[len(blobKeyDomain):], length)
	binary.BigEndian.PutUint32(b[len(blobKeyDomain)+8:], uint32(len(comms)))
	h.Write(b[:])
	for i := range comms {
		h.Write(comms[i][:])
	}
	var k BlobKey
	h.Sum(k[:0])
	return k
}

// BlobHeader is a blob's header (docs/spec.md §3.2): its key, length L, rows
// R and data-row commitments C_0 … C_{R−1}. Anyone can check it against the
// key.
type BlobHeader struct {
	Key         BlobKey      `json:"blob_key"`
	Length      uint64       `json:"length"`
	Rows        uint32       `json:"rows"`
	Commitments []Commitment `json:"commitments"`
}

// CheckShape checks the header's canonical form without hashing: 1 ≤ L ≤
// MaxBlobLength, R = ceil(L / BytesPerRow) and R commitments.
func (h *BlobHeader) CheckShape() error {
	if h.Length == 0 || h.Length > MaxBlobLength {
		return fmt.Errorf("%w: blob %s: length %d, want 1 to %d", ErrHeader, h.Key, h.Length, MaxBlobLength)
	}
	if want := RowsFor(h.Length); h.Rows != want {
		return fmt.Errorf("%w: blob %s: %d rows for %d bytes, want %d", ErrHeader, h.Key, h.Rows, h.Length, want)
	}
	if len(h.Commitments) != int(h.Rows) {
		return fmt.Errorf("%w: blob %s: %d commitments for %d rows", ErrHeader, h.Key, len(h.Commitments), h.Rows)
	}
	return nil
}

// Check checks the shape and that the header hashes to its key. Whether the
// commitments are valid points is the kzg package's check.
func (h *BlobHeader) Check() error {
	if err := h.CheckShape(); err != nil {
		return err
	}
	if k := ComputeBlobKey(h.Length, h.Commitments); k != h.Key {
		return fmt.Errorf("%w: blob header (length %d, %d rows) hashes to %s, not to its key %s", ErrHeader, h.Length, h.Rows, k, h.Key)
	}
	return nil
}

// Entry is the blob's (key, R) pair: its batch-root leaf and its entry in a
// certificate.
func (h *BlobHeader) Entry() CertifiedBlob { return CertifiedBlob{Key: h.Key, Rows: h.Rows} }

// MatrixRows is K, the smallest power of two ≥ d (the batch matrix's rows,
// padding included); 1 for d ≤ 1.
func MatrixRows(d int) int {
	k := 1
	for k < d {
		k <<= 1
	}
	return k
}

// ExtendedRow maps dispersed row n of a batch of d data rows to its row j of
// the 4K column-extended matrix (docs/spec.md §3.4): n for data rows, K + (n −
// d) for parity rows.
func ExtendedRow(n, d int) int {
	if n < d {
		return n
	}
	return MatrixRows(d) + n - d
}

// BatchHeader is the header of a batch (docs/spec.md §3.3): its blobs'
// headers in batch order. It is what a disperser sends every DA node of the
// batch and what the nodes store and serve with their rows.
type BatchHeader struct {
	Blobs []BlobHeader `json:"blobs"`
}

// DataRows is D = Σ R_i.
func (b *BatchHeader) DataRows() int {
	d := 0
	for i := range b.Blobs {
		d += int(b.Blobs[i].Rows)
	}
	return d
}

// MatrixRows is K, the smallest power of two ≥ D.
func (b *BatchHeader) MatrixRows() int { return MatrixRows(b.DataRows()) }

// DispersedRows is N = 4D.
func (b *BatchHeader) DispersedRows() int { return ExtensionFactor * b.DataRows() }

// Offsets lists o_i, the first matrix row of each blob.
func (b *BatchHeader) Offsets() []int {
	out := make([]int, len(b.Blobs))
	o := 0
	for i := range b.Blobs {
		out[i] = o
		o += int(b.Blobs[i].Rows)
	}
	return out
}

// Entries lists the blobs' (key, R) in batch order.
func (b *BatchHeader) Entries() []CertifiedBlob {
	out := make([]CertifiedBlob, len(b.Blobs))
	for i := range b.Blobs {
		out[i] = b.Blobs[i].Entry()
	}
	return out
}

// Root is the batch root over the blobs' (key, R) leaves. It panics on an
// empty header; call Check first on headers from outside.
func (b *BatchHeader) Root() Hash {
	root, err := BatchRoot(b.Entries())
	if err != nil {
		panic(err)
	}
	return root
}

// Index is the position of key in the batch, or −1.
func (b *BatchHeader) Index(key BlobKey) int {
	for i := range b.Blobs {
		if b.Blobs[i].Key == key {
			return i
		}
	}
	return -1
}

// Commitments lists every data row's commitment, in matrix order (the D
// commitments that the parity rows' commitments derive from).
func (b *BatchHeader) Commitments() []Commitment {
	out := make([]Commitment, 0, b.DataRows())
	for i := range b.Blobs {
		out = append(out, b.Blobs[i].Commitments...)
	}
	return out
}

// CheckShape checks everything but the key hashes: 1 to MaxBatchBlobs blobs,
// each of canonical shape, keys non-zero and distinct, 1 ≤ D ≤ MaxBatchRows.
func (b *BatchHeader) CheckShape() error {
	if err := checkEntries(len(b.Blobs), func(i int) CertifiedBlob { return b.Blobs[i].Entry() }); err != nil {
		return err
	}
	for i := range b.Blobs {
		if err := b.Blobs[i].CheckShape(); err != nil {
			return fmt.Errorf("blob %d: %w", i, err)
		}
	}
	return nil
}

// Check is CheckShape and that every blob header hashes to its key.
func (b *BatchHeader) Check() error {
	if err := b.CheckShape(); err != nil {
		return err
	}
	for i := range b.Blobs {
		if err := b.Blobs[i].Check(); err != nil {
			return fmt.Errorf("blob %d: %w", i, err)
		}
	}
	return nil
}

// checkEntries enforces the rules that batch headers and certificates share:
// 1 to MaxBatchBlobs blobs, 1 ≤ R_i ≤ MaxBlobRows, keys non-zero and
// distinct, D ≤ MaxBatchRows.
func checkEntries(n int, entry func(i int) CertifiedBlob) error {
	if n == 0 || n > MaxBatchBlobs {
		return fmt.Errorf("%w: %d blobs, want 1 to %d", ErrHeader, n, MaxBatchBlobs)
	}
	seen := make(map[BlobKey]int, n)
	d := 0
	for i := 0; i < n; i++ {
		e := entry(i)
		if e.Key == (BlobKey{}) {
			return fmt.Errorf("%w: blob %d has the zero key", ErrHeader, i)
		}
		if j, dup := seen[e.Key]; dup {
			return fmt.Errorf("%w: blob %s appears twice (positions %d and %d)", ErrHeader, e.Key, j, i)
		}
		seen[e.Key] = i
		if e.Rows == 0 || e.Rows > MaxBlobRows {
			return fmt.Errorf("%w: blob %d (%s) has %d rows, want 1 to %d", ErrHeader, i, e.Key, e.Rows, MaxBlobRows)
		}
		d += int(e.Rows)
	}
	if d > MaxBatchRows {
		return fmt.Errorf("%w: %d data rows, the limit of a batch is %d", ErrHeader, d, MaxBatchRows)
	}
	return nil
}
