package signer

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"runtime"
)

// MaxPasswordFileSize bounds what ReadPasswordFile reads.
const MaxPasswordFileSize = 4 << 10

// ReadPasswordFile reads a keystore password from path: its first line, a
// trailing CR dropped. Like ssh with a private key, it refuses a file that
// group or others can access (ErrPasswordFilePermissions; the message says
// to chmod 600 it), and an empty or oversized one.
func ReadPasswordFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("signer: opening password file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("signer: password file %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("signer: password file %s is not a regular file", path)
	}
	// Windows reports synthetic permission bits; there the ACL is the user's job.
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return "", fmt.Errorf("%w: %s has mode %04o, so group or others can read the password; run 'chmod 600 %s'",
			ErrPasswordFilePermissions, path, perm, path)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxPasswordFileSize+1))
	defer clear(b)
	switch {
	case err != nil:
		return "", fmt.Errorf("signer: reading password file %s: %w", path, err)
	case len(b) > MaxPasswordFileSize:
		return "", fmt.Errorf("signer: password file %s is larger than %d bytes", path, MaxPasswordFileSize)
	case len(b) == 0:
		return "", fmt.Errorf("signer: password file %s is empty", path)
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	return string(bytes.TrimSuffix(line, []byte("\r"))), nil
}
