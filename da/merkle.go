package da

import (
	"crypto/sha256"
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

// MaxMerkleDepth bounds proofs: 2^32 leaves is far beyond any batch.
const MaxMerkleDepth = 32

// ErrEmptyBatch is returned for a Merkle tree over no blob keys.
var ErrEmptyBatch = errors.New("da: batch has no blob keys")

// LeafHash is SHA-256(0x00 ‖ key), a leaf of the batch_root tree (DESIGN.md §4).
func LeafHash(key BlobKey) Hash {
	var buf [33]byte
	copy(buf[1:], key[:])
	return sha256.Sum256(buf[:])
}

// NodeHash is SHA-256(0x01 ‖ left ‖ right), an inner node of the batch_root tree.
func NodeHash(left, right Hash) Hash {
	var buf [65]byte
	buf[0] = 1
	copy(buf[1:], left[:])
	copy(buf[33:], right[:])
	return sha256.Sum256(buf[:])
}

// zeroLeaf is the padding leaf: the hash of the all-zero key.
var zeroLeaf = LeafHash(BlobKey{})

// treeWidth is the number of leaves after padding n keys to a power of two.
func treeWidth(n int) int {
	if n <= 1 {
		return 1
	}
	return 1 << bits.Len(uint(n-1))
}

// leaves returns the padded leaf level for keys.
func leaves(keys []BlobKey) []Hash {
	level := make([]Hash, treeWidth(len(keys)))
	for i := range level {
		if i < len(keys) {
			level[i] = LeafHash(keys[i])
		} else {
			level[i] = zeroLeaf
		}
	}
	return level
}

// BatchRoot is the root of the SHA-256 binary Merkle tree over keys in batch
// order, padded with zero-key leaves to a power of two (DESIGN.md §4). A
// single key's root is its leaf hash. keys is not modified.
func BatchRoot(keys []BlobKey) (Hash, error) {
	if len(keys) == 0 {
		return Hash{}, ErrEmptyBatch
	}
	level := leaves(keys)
	for len(level) > 1 {
		for i := 0; i < len(level)/2; i++ {
			level[i] = NodeHash(level[2*i], level[2*i+1])
		}
		level = level[:len(level)/2]
	}
	return level[0], nil
}

// MerkleProof returns the sibling hashes from the leaf of keys[index] up to
// the root, bottom first. Its length is log2 of the padded width.
func MerkleProof(keys []BlobKey, index int) ([]Hash, error) {
	if len(keys) == 0 {
		return nil, ErrEmptyBatch
	}
	if index < 0 || index >= len(keys) {
		return nil, fmt.Errorf("da: merkle proof index %d out of range [0, %d)", index, len(keys))
	}
	level := leaves(keys)
	var proof []Hash
	for len(level) > 1 {
		proof = append(proof, level[index^1])
		for i := 0; i < len(level)/2; i++ {
			level[i] = NodeHash(level[2*i], level[2*i+1])
		}
		level = level[:len(level)/2]
		index /= 2
	}
	return proof, nil
}

// VerifyMerkleProof reports whether proof shows key at position index of a
// batch whose root is root. The depth is len(proof); index must fit in it.
func VerifyMerkleProof(root Hash, key BlobKey, index uint64, proof []Hash) bool {
	if len(proof) > MaxMerkleDepth || index>>uint(len(proof)) != 0 {
		return false
	}
	h := LeafHash(key)
	for _, sib := range proof {
		if index&1 == 0 {
			h = NodeHash(h, sib)
		} else {
			h = NodeHash(sib, h)
		}
		index >>= 1
	}
	return h == root
}
