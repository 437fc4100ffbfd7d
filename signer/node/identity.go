package node

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/libp2p/go-libp2p/core/crypto"
)

// loadIdentity reads the node's ed25519 libp2p key from path, creating it
// (mode 0600) on first use. A key file readable by group or others is
// refused, as keystores are: the key is the node's network identity.
func loadIdentity(path string) (crypto.PrivKey, error) {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return createIdentity(path)
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

func createIdentity(path string) (crypto.PrivKey, error) {
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

// InitIdentity creates the libp2p identity at path if there is none and
// returns its peer id's string form (for `zgda node init`).
func InitIdentity(path string) (string, error) {
	k, err := loadIdentity(path)
	if err != nil {
		return "", err
	}
	return peerIDString(k)
}
