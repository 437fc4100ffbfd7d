package da

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// BlobKey names a blob everywhere (docs/spec.md §3.2): see ComputeBlobKey.
type BlobKey [32]byte

// String renders the key as 0x-prefixed lowercase hex.
func (k BlobKey) String() string { return "0x" + hex.EncodeToString(k[:]) }

// MarshalText implements encoding.TextMarshaler (0x-prefixed lowercase hex).
func (k BlobKey) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *BlobKey) UnmarshalText(b []byte) error {
	key, err := ParseBlobKey(string(b))
	if err != nil {
		return err
	}
	*k = key
	return nil
}

// ParseBlobKey parses a 0x-prefixed 64-digit hex blob key.
func ParseBlobKey(s string) (BlobKey, error) {
	var k BlobKey
	if !strings.HasPrefix(s, "0x") {
		return k, fmt.Errorf("blob key %q: want 0x followed by 64 hex digits", truncate(s))
	}
	h := s[2:]
	if len(h) != 64 {
		return k, fmt.Errorf("blob key %q: want 64 hex digits after 0x, got %d", truncate(s), len(h))
	}
	if _, err := hex.Decode(k[:], []byte(h)); err != nil {
		return k, fmt.Errorf("blob key %q: %v", truncate(s), err)
	}
	return k, nil
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
