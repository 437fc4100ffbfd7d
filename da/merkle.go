package da

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/bits"
	"strings"
)

// Hash is a 32-byte SHA-256 digest: batch roots, epoch seeds, VRF outputs.
// Its text form is 0x-prefixed lowercase hex.
type Hash [32]byte

// String renders the hash as 0x-prefixed lowercase hex.
func (h Hash) String() string { return "0x" + hex.EncodeToString(h[:]) }

// MarshalText implements encoding.TextMarshaler.
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (h *Hash) UnmarshalText(b []byte) error { return parseFixedHex("hash", string(b), h[:]) }

// ParseHash parses a 0x-prefixed 64-digit hex hash.
func ParseHash(s string) (Hash, error) {
	var h Hash
	return h, parseFixedHex("hash", s, h[:])
}

// parseFixedHex decodes 0x-prefixed hex of exactly len(dst) bytes into dst.
func parseFixedHex(what, s string, dst []byte) error {
	if !strings.HasPrefix(s, "0x") {
		return fmt.Errorf("%s %q: want 0x followed by %d hex digits", what, truncate(s), 2*len(dst))
	}
	h := s[2:]
	if len(h) != 2*len(dst) {
		return fmt.Errorf("%s %q: want %d hex digits after 0x, got %d", what, truncate(s), 2*len(dst), len(h))
	}
	if _, err := hex.Decode(dst, []byte(h)); err != nil {
		return fmt.Errorf("%s %q: %v", what, truncate(s), err)
	}
	return nil
}

// The batch root (docs/spec.md §3.7) is the RFC 6962 Merkle Tree Hash over
// the leaf data key_i ‖ uint32_be(R_i), in batch order: leaves
// SHA-256(0x00 ‖ d), nodes SHA-256(0x01 ‖ left ‖ right), a tree of n > 1
// leaves split at the largest power of two below n, no padding. R is under
// the root, so signers vouch for the row counts that the chain counts slots
// with; without padding no certificate can carry an extra "blob".

// MaxMerkleDepth bounds audit paths: a batch has at most MaxBatchBlobs leaves.
const MaxMerkleDepth = 8

// ErrEmptyBatch is returned for a Merkle tree over no blobs.
var ErrEmptyBatch = errors.New("da: batch has no blobs")

// LeafHash is SHA-256(0x00 ‖ key ‖ uint32_be(R)), the leaf of blob e.
func LeafHash(e CertifiedBlob) Hash {
	var buf [1 + 32 + 4]byte
	copy(buf[1:33], e.Key[:])
	binary.BigEndian.PutUint32(buf[33:], e.Rows)
	return sha256.Sum256(buf[:])
}

// NodeHash is SHA-256(0x01 ‖ left ‖ right), an inner node of the tree.
func NodeHash(left, right Hash) Hash {
	var buf [65]byte
	buf[0] = 1
	copy(buf[1:], left[:])
	copy(buf[33:], right[:])
	return sha256.Sum256(buf[:])
}

// splitPoint is the largest power of two strictly below n (n ≥ 2).
func splitPoint(n int) int { return 1 << (bits.Len(uint(n-1)) - 1) }

// mth is the Merkle Tree Hash of the leaf hashes.
func mth(leaves []Hash) Hash {
	if len(leaves) == 1 {
		return leaves[0]
	}
	k := splitPoint(len(leaves))
	return NodeHash(mth(leaves[:k]), mth(leaves[k:]))
}

func leafHashes(blobs []CertifiedBlob) []Hash {
	out := make([]Hash, len(blobs))
	for i := range blobs {
		out[i] = LeafHash(blobs[i])
	}
	return out
}

// BatchRoot is the batch root of the blobs in batch order. blobs is only read.
func BatchRoot(blobs []CertifiedBlob) (Hash, error) {
	if len(blobs) == 0 {
		return Hash{}, ErrEmptyBatch
	}
	return mth(leafHashes(blobs)), nil
}

// InclusionProof is the RFC 6962 audit path of blobs[index], bottom-up.
func InclusionProof(blobs []CertifiedBlob, index int) ([]Hash, error) {
	if len(blobs) == 0 {
		return nil, ErrEmptyBatch
	}
	if index < 0 || index >= len(blobs) {
		return nil, fmt.Errorf("da: inclusion proof index %d out of range [0, %d)", index, len(blobs))
	}
	return auditPath(leafHashes(blobs), index), nil
}

// auditPath is RFC 6962 §2.1.1's PATH(m, D[n]), bottom-up.
func auditPath(leaves []Hash, m int) []Hash {
	if len(leaves) <= 1 {
		return nil
	}
	k := splitPoint(len(leaves))
	if m < k {
		return append(auditPath(leaves[:k], m), mth(leaves[k:]))
	}
	return append(auditPath(leaves[k:], m-k), mth(leaves[:k]))
}

// VerifyInclusion reports whether proof is the audit path of blob e at
// position index of a batch of size blobs whose root is root (RFC 9162
// §2.1.3.2's verification).
func VerifyInclusion(root Hash, e CertifiedBlob, index, size uint64, proof []Hash) bool {
	if index >= size || len(proof) > MaxMerkleDepth {
		return false
	}
	fn, sn := index, size-1
	r := LeafHash(e)
	for _, p := range proof {
		if sn == 0 {
			return false
		}
		if fn&1 == 1 || fn == sn {
			r = NodeHash(p, r)
			for fn&1 == 0 && fn != 0 {
				fn >>= 1
				sn >>= 1
			}
		} else {
			r = NodeHash(r, p)
		}
		fn >>= 1
		sn >>= 1
	}
	return sn == 0 && r == root
}
