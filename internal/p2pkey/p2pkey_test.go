package p2pkey

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestIdentity(t *testing.T) {
	a, b := FromSeed([]byte("s"), "x"), FromSeed([]byte("s"), "x")
	if !a.Equals(b) || a.Equals(FromSeed([]byte("s"), "y")) {
		t.Fatal("FromSeed is not a function of seed and label")
	}
	raw, err := ParsePeerID(PeerID(a))
	if err != nil || raw != PublicKey(a) {
		t.Fatalf("peer id round trip: %x %v", raw, err)
	}
	if _, err := ParsePeerID("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N"); err == nil {
		t.Fatal("a peer id without an embedded ed25519 key was taken")
	}
	path := filepath.Join(t.TempDir(), "p2p", "identity.key")
	k, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := Load(path); err != nil || !again.Equals(k) {
		t.Fatalf("reloaded another key: %v", err)
	}
	os.Chmod(path, 0o640)
	if _, err := Load(path); !errors.Is(err, ErrIdentity) {
		t.Fatalf("group-readable key: %v", err)
	}
}
