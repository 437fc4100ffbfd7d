// Package p2pkey keeps a libp2p identity (an ed25519 key) in a file, for
// DA nodes and for dispersers: a disperser is registered on the chain by
// this key (docs/spec.md §5 Dispersers).
package p2pkey

import (
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// ErrIdentity: the identity file is unreadable, malformed or readable by
// others.
var ErrIdentity = errors.New("bad libp2p identity")

// Load reads the ed25519 libp2p key from path, creating it (mode 0600, in a
// directory of mode 0700) on first use. A key file readable by group or
// others is refused, as keystores are: the key is a network identity.
func Load(path string) (crypto.PrivKey, error) {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return create(path)
	case err != nil:
		return nil, fmt.Errorf("%w: %v", ErrIdentity, err)
	case st.Mode().Perm()&0o077 != 0:
		return nil, fmt.Errorf("%w: %s has mode %04o; it must not be accessible by group or others (chmod 600 %s)",
			ErrIdentity, path, st.Mode().Perm(), path)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrIdentity, err)
	}
	k, err := crypto.UnmarshalPrivateKey(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrIdentity, path, err)
	}
	if k.Type() != crypto.Ed25519 {
		return nil, fmt.Errorf("%w: %s holds a %v key, want ed25519", ErrIdentity, path, k.Type())
	}
	return k, nil
}

func create(path string) (crypto.PrivKey, error) {
	k, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		return nil, fmt.Errorf("%w: generating: %v", ErrIdentity, err)
	}
	raw, err := crypto.MarshalPrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrIdentity, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrIdentity, err)
	}
	// O_EXCL: never overwrite an identity another process just wrote.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrIdentity, err)
	}
	if _, err := f.Write(raw); err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: %v", ErrIdentity, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: %v", ErrIdentity, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrIdentity, err)
	}
	return k, nil
}

// FromSeed derives an ed25519 identity from seed and a label (devnets
// derive every key from one seed, so that a restart finds the same ones).
func FromSeed(seed []byte, label string) crypto.PrivKey {
	h := sha256.Sum256(append(append([]byte("zgda/p2pkey/"), label...), seed...))
	k, err := crypto.UnmarshalEd25519PrivateKey(ed25519.NewKeyFromSeed(h[:]))
	if err != nil {
		panic("p2pkey: an ed25519 key from a seed: " + err.Error())
	}
	return k
}

// PublicKey is k's raw 32-byte ed25519 public key, the form the chain
// registers dispersers by.
func PublicKey(k crypto.PrivKey) [32]byte {
	raw, err := k.GetPublic().Raw()
	if err != nil || len(raw) != 32 {
		panic(fmt.Sprintf("p2pkey: not an ed25519 key (%v)", err))
	}
	return [32]byte(raw)
}

// PeerID is k's libp2p peer id in its string form.
func PeerID(k crypto.PrivKey) string {
	id, err := peer.IDFromPrivateKey(k)
	if err != nil {
		panic("p2pkey: peer id: " + err.Error())
	}
	return id.String()
}

// ParsePeerID returns the raw ed25519 public key a peer id embeds
// (12D3Koo… ids of ed25519 keys do).
func ParsePeerID(s string) ([32]byte, error) {
	id, err := peer.Decode(s)
	if err != nil {
		return [32]byte{}, fmt.Errorf("peer id %q: %v", s, err)
	}
	pub, err := id.ExtractPublicKey()
	if err != nil {
		return [32]byte{}, fmt.Errorf("peer id %q embeds no public key: %v", s, err)
	}
	if pub.Type() != crypto.Ed25519 {
		return [32]byte{}, fmt.Errorf("peer id %q is of a %v key, want ed25519", s, pub.Type())
	}
	raw, err := pub.Raw()
	if err != nil || len(raw) != 32 {
		return [32]byte{}, fmt.Errorf("peer id %q: ed25519 key of %d bytes (%v)", s, len(raw), err)
	}
	return [32]byte(raw), nil
}
