package node

import (
	"fmt"

	"github.com/libp2p/go-libp2p/core/crypto"

	"github.com/zgda/zgda/internal/p2pkey"
)

// loadIdentity reads the node's ed25519 libp2p key from path, creating it
// on first use (p2pkey.Load: mode 0600, refused when others can read it).
func loadIdentity(path string) (crypto.PrivKey, error) {
	k, err := p2pkey.Load(path)
	if err != nil {
		return nil, fmt.Errorf("node: %w", err) // wraps ErrIdentity
	}
	return k, nil
}

// InitIdentity creates the libp2p identity at path if there is none and
// returns its peer id's string form (for `zgda node init`).
func InitIdentity(path string) (string, error) {
	k, err := loadIdentity(path)
	if err != nil {
		return "", err
	}
	return p2pkey.PeerID(k), nil
}
