package signer

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestReadPasswordFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // past the umask
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name, body string
		mode       os.FileMode
		want       string
	}{
		{"0600", "correct horse\nsecond line\n", 0o600, "correct horse"},
		{"0400", "correct horse\r\n", 0o400, "correct horse"},
		{"no newline", "correct horse", 0o600, "correct horse"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadPasswordFile(write(tc.name, tc.body, tc.mode))
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("password %q, want %q", got, tc.want)
			}
		})
	}
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permission bits")
	}
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660} {
		t.Run(mode.String(), func(t *testing.T) {
			p := write("open"+mode.String(), "correct horse\n", mode)
			_, err := ReadPasswordFile(p)
			if !errors.Is(err, ErrPasswordFilePermissions) {
				t.Fatalf("err %v, want ErrPasswordFilePermissions", err)
			}
			for _, s := range []string{p, "chmod 600 " + p} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not name %q", err, s)
				}
			}
		})
	}
	t.Run("empty", func(t *testing.T) {
		if _, err := ReadPasswordFile(write("empty", "", 0o600)); err == nil {
			t.Fatal("an empty password file was accepted")
		}
	})
	t.Run("large", func(t *testing.T) {
		if _, err := ReadPasswordFile(write("large", strings.Repeat("x", MaxPasswordFileSize+1), 0o600)); err == nil {
			t.Fatal("an oversized password file was accepted")
		}
	})
	t.Run("missing", func(t *testing.T) {
		if _, err := ReadPasswordFile(filepath.Join(dir, "nope")); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("err %v, want os.ErrNotExist", err)
		}
	})
}
