package da

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/bits"
)

// Limits of the certificate codec. A certificate that exceeds one is refused
// by the decoder before anything else reads it.
const (
	// CertificateVersion is the first byte of every encoded certificate.
	CertificateVersion = 2
	// MaxCertificateBlobs bounds the blobs in one certificate (one batch).
	MaxCertificateBlobs = MaxBatchBlobs
	// MaxSignerBitmapBytes bounds the signer bitmap: 65,536 signers.
	MaxSignerBitmapBytes = 8192

	certHeaderSize = 1 + 32 + 8 + 4 + 2
	certBlobSize   = 32 + 4
	// MaxCertificateSize is the largest encoding the decoder accepts.
	MaxCertificateSize = certHeaderSize + MaxCertificateBlobs*certBlobSize + 2 + MaxSignerBitmapBytes + SignatureSize
)

// Sizes of BLS12-381 min-pk objects (compressed).
const (
	PublicKeySize = 48
	SignatureSize = 96
)

// Errors of the certificate codec and its structural checks.
var (
	// ErrCertificate marks every malformed or inconsistent certificate.
	ErrCertificate = errors.New("da: bad certificate")
)

// PublicKey is a compressed BLS12-381 G1 public key (min-pk). This package
// only carries it; the signer package parses and checks it.
type PublicKey [PublicKeySize]byte

// String renders the key as 0x-prefixed lowercase hex.
func (k PublicKey) String() string { return "0x" + hex.EncodeToString(k[:]) }

// MarshalText implements encoding.TextMarshaler.
func (k PublicKey) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *PublicKey) UnmarshalText(b []byte) error {
	return parseFixedHex("public key", string(b), k[:])
}

// Signature is a compressed BLS12-381 G2 signature (min-pk).
type Signature [SignatureSize]byte

// String renders the signature as 0x-prefixed lowercase hex.
func (s Signature) String() string { return "0x" + hex.EncodeToString(s[:]) }

// MarshalText implements encoding.TextMarshaler.
func (s Signature) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Signature) UnmarshalText(b []byte) error {
	return parseFixedHex("signature", string(b), s[:])
}

// Bitmap names signers by their registry index: bit i is byte i/8, bit i%8
// (least significant first). The canonical form has no trailing zero byte.
type Bitmap []byte

// NewBitmap returns the canonical bitmap with exactly the given bits set.
func NewBitmap(indices ...uint32) Bitmap {
	var b Bitmap
	for _, i := range indices {
		b = b.Set(i)
	}
	return b
}

// Set returns b with bit i set, growing it as needed (b may be reused).
func (b Bitmap) Set(i uint32) Bitmap {
	for uint64(len(b)) <= uint64(i/8) {
		b = append(b, 0)
	}
	b[i/8] |= 1 << (i % 8)
	return b
}

// Has reports whether bit i is set.
func (b Bitmap) Has(i uint32) bool {
	return uint64(i/8) < uint64(len(b)) && b[i/8]&(1<<(i%8)) != 0
}

// Count is the number of set bits.
func (b Bitmap) Count() int {
	n := 0
	for _, x := range b {
		n += bits.OnesCount8(x)
	}
	return n
}

// Indices lists the set bits in ascending order.
func (b Bitmap) Indices() []uint32 {
	out := make([]uint32, 0, b.Count())
	for j, x := range b {
		for x != 0 {
			t := bits.TrailingZeros8(x)
			out = append(out, uint32(j)*8+uint32(t))
			x &= x - 1
		}
	}
	return out
}

// String renders the bitmap as 0x-prefixed lowercase hex.
func (b Bitmap) String() string { return "0x" + hex.EncodeToString(b) }

// MarshalText implements encoding.TextMarshaler.
func (b Bitmap) MarshalText() ([]byte, error) { return []byte(b.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (b *Bitmap) UnmarshalText(t []byte) error {
	s := string(t)
	if len(s) < 2 || s[:2] != "0x" {
		return fmt.Errorf("bitmap %q: want 0x followed by hex digits", truncate(s))
	}
	v, err := hex.DecodeString(s[2:])
	if err != nil {
		return fmt.Errorf("bitmap %q: %v", truncate(s), err)
	}
	*b = v
	return nil
}

// CertifiedBlob is one blob of a certificate and one leaf of the batch root:
// its key and its number of data rows R (1 ≤ R ≤ MaxBlobRows).
type CertifiedBlob struct {
	Key  BlobKey `json:"key"`
	Rows uint32  `json:"rows"`
}

// Certificate is a quorum's attestation that it stores a batch
// (docs/spec.md §4.4): the aggregate of the signers' BLS signatures over
// AttestationMessage, with the (key, R) of every blob in batch order.
type Certificate struct {
	BatchRoot Hash            `json:"batch_root"`
	Epoch     uint64          `json:"epoch"`
	Quorum    uint32          `json:"quorum"`
	Blobs     []CertifiedBlob `json:"blobs"`
	Signers   Bitmap          `json:"signers"`
	Signature Signature       `json:"signature"`
}

// AttestationMessage is what a DA node signs for a batch (docs/spec.md §4.3):
// "zgda/v2/attest" ‖ chain_id ‖ uint64_be(epoch) ‖ uint32_be(quorum) ‖ batch_root.
func AttestationMessage(chainID string, epoch uint64, quorum uint32, batchRoot Hash) []byte {
	const prefix = "zgda/v2/attest"
	m := make([]byte, 0, len(prefix)+len(chainID)+8+4+32)
	m = append(m, prefix...)
	m = append(m, chainID...)
	m = binary.BigEndian.AppendUint64(m, epoch)
	m = binary.BigEndian.AppendUint32(m, quorum)
	return append(m, batchRoot[:]...)
}

// Message is the certificate's AttestationMessage on chainID.
func (c *Certificate) Message(chainID string) []byte {
	return AttestationMessage(chainID, c.Epoch, c.Quorum, c.BatchRoot)
}

// Keys lists the certificate's blob keys in batch order.
func (c *Certificate) Keys() []BlobKey {
	keys := make([]BlobKey, len(c.Blobs))
	for i, b := range c.Blobs {
		keys[i] = b.Key
	}
	return keys
}

// DataRows is D = Σ R over the certificate's blobs.
func (c *Certificate) DataRows() int {
	d := 0
	for _, b := range c.Blobs {
		d += int(b.Rows)
	}
	return d
}

// DispersedRows is N = 4D.
func (c *Certificate) DispersedRows() int { return ExtensionFactor * c.DataRows() }

// EncodedSize is the length of c's binary encoding.
func (c *Certificate) EncodedSize() int {
	return certHeaderSize + len(c.Blobs)*certBlobSize + 2 + len(c.Signers) + SignatureSize
}

// MarshalBinary encodes c (layout in AppendBinary). It fails on a certificate
// the decoder would refuse, so every encoding it produces decodes.
func (c *Certificate) MarshalBinary() ([]byte, error) {
	return c.AppendBinary(make([]byte, 0, c.EncodedSize()))
}

// AppendBinary appends c's encoding to b:
//
//	u8 version (2) ‖ batch_root[32] ‖ u64 epoch ‖ u32 quorum ‖
//	u16 n ‖ n × (blob_key[32] ‖ u32 R) ‖ u16 len ‖ bitmap[len] ‖ signature[96]
//
// integers big-endian.
func (c *Certificate) AppendBinary(b []byte) ([]byte, error) {
	if err := c.checkShape(); err != nil {
		return nil, err
	}
	b = append(b, CertificateVersion)
	b = append(b, c.BatchRoot[:]...)
	b = binary.BigEndian.AppendUint64(b, c.Epoch)
	b = binary.BigEndian.AppendUint32(b, c.Quorum)
	b = binary.BigEndian.AppendUint16(b, uint16(len(c.Blobs)))
	for _, bl := range c.Blobs {
		b = append(b, bl.Key[:]...)
		b = binary.BigEndian.AppendUint32(b, bl.Rows)
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(c.Signers)))
	b = append(b, c.Signers...)
	return append(b, c.Signature[:]...), nil
}

// UnmarshalBinary decodes a certificate, refusing anything but the one
// canonical encoding: wrong version, bad lengths, trailing bytes, an R or
// D out of range, a zero or repeated key, an empty or non-canonical bitmap. It does not check the
// batch root or the signature (see Validate and the chain).
func (c *Certificate) UnmarshalBinary(b []byte) error {
	if len(b) > MaxCertificateSize {
		return fmt.Errorf("%w: %d bytes, more than the %d allowed", ErrCertificate, len(b), MaxCertificateSize)
	}
	if len(b) < certHeaderSize {
		return fmt.Errorf("%w: truncated header (%d bytes)", ErrCertificate, len(b))
	}
	if b[0] != CertificateVersion {
		return fmt.Errorf("%w: version %d, want %d", ErrCertificate, b[0], CertificateVersion)
	}
	var out Certificate
	copy(out.BatchRoot[:], b[1:33])
	out.Epoch = binary.BigEndian.Uint64(b[33:41])
	out.Quorum = binary.BigEndian.Uint32(b[41:45])
	n := int(binary.BigEndian.Uint16(b[45:47]))
	if n == 0 || n > MaxCertificateBlobs {
		return fmt.Errorf("%w: %d blobs, want 1 to %d", ErrCertificate, n, MaxCertificateBlobs)
	}
	p := b[certHeaderSize:]
	if len(p) < n*certBlobSize+2 {
		return fmt.Errorf("%w: truncated blob list (%d blobs)", ErrCertificate, n)
	}
	out.Blobs = make([]CertifiedBlob, n)
	for i := range out.Blobs {
		copy(out.Blobs[i].Key[:], p[:32])
		out.Blobs[i].Rows = binary.BigEndian.Uint32(p[32:36])
		p = p[certBlobSize:]
	}
	m := int(binary.BigEndian.Uint16(p))
	p = p[2:]
	if len(p) != m+SignatureSize {
		return fmt.Errorf("%w: %d bytes after the signer bitmap length, want %d", ErrCertificate, len(p), m+SignatureSize)
	}
	out.Signers = append(Bitmap(nil), p[:m]...)
	copy(out.Signature[:], p[m:])
	if err := out.checkShape(); err != nil {
		return err
	}
	*c = out
	return nil
}

// checkShape enforces the codec's limits and canonical forms.
func (c *Certificate) checkShape() error {
	if err := checkEntries(len(c.Blobs), func(i int) CertifiedBlob { return c.Blobs[i] }); err != nil {
		return fmt.Errorf("%w: %v", ErrCertificate, err)
	}
	if len(c.Signers) == 0 || len(c.Signers) > MaxSignerBitmapBytes {
		return fmt.Errorf("%w: signer bitmap of %d bytes, want 1 to %d", ErrCertificate, len(c.Signers), MaxSignerBitmapBytes)
	}
	if c.Signers[len(c.Signers)-1] == 0 {
		return fmt.Errorf("%w: signer bitmap has a trailing zero byte (not canonical)", ErrCertificate)
	}
	return nil
}

// Validate checks what needs no chain state: the codec's limits (R and D in
// range, keys non-zero and distinct) and that BatchRoot is the batch root of
// the (key, R) list.
func (c *Certificate) Validate() error {
	if err := c.checkShape(); err != nil {
		return err
	}
	root, err := BatchRoot(c.Blobs)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCertificate, err)
	}
	if root != c.BatchRoot {
		return fmt.Errorf("%w: batch root %s is not the root %s of its (blob key, rows) list", ErrCertificate, c.BatchRoot, root)
	}
	return nil
}

// Locate finds key in the certificate: its position in the batch and its
// offset o (first matrix row). ok is false when the certificate does not
// name key.
func (c *Certificate) Locate(key BlobKey) (index, offset int, ok bool) {
	for i, b := range c.Blobs {
		if b.Key == key {
			return i, offset, true
		}
		offset += int(b.Rows)
	}
	return 0, 0, false
}
