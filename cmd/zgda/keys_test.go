package main

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zgda/zgda/signer"
)

// runKeys runs 'zgda keys ...'.
func runKeys(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return run(t, append([]string{"keys"}, args...)...)
}

func writeFile(t *testing.T, path, s string, mode os.FileMode) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), mode); err != nil {
		t.Fatal(err)
	}
	return path
}

// fields parses "name value" lines.
func fields(out string) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(l, " "); ok {
			m[k] = v
		}
	}
	return m
}

func TestKeys(t *testing.T) {
	saved := stdinIsTerminal
	stdinIsTerminal = func() bool { return false }
	defer func() { stdinIsTerminal = saved }()

	dir := t.TempDir()
	pw := writeFile(t, filepath.Join(dir, "pw.txt"), "correct horse\n", 0o600)
	wrongPw := writeFile(t, filepath.Join(dir, "wrong.txt"), "battery staple\n", 0o600)
	ks := filepath.Join(dir, "node.json")

	// generate → show: same key, a valid proof of possession, mode 0600.
	out, err := runKeys(t, "generate", "--out", ks, "--password-file", pw, "--kdf", "pbkdf2")
	if err != nil {
		t.Fatalf("generate: %v\n%s", err, out)
	}
	gen := fields(out)
	if !strings.HasPrefix(gen["pubkey"], "0x") || len(gen["pubkey"]) != 2+2*signer.PublicKeySize || !strings.Contains(out, "wrote "+ks) {
		t.Fatalf("generate output:\n%s", out)
	}
	if fi, err := os.Stat(ks); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("keystore mode %v (%v)", fi.Mode(), err)
	}
	out, err = runKeys(t, "show", ks, "--password-file", pw, "--json")
	if err != nil {
		t.Fatalf("show: %v\n%s", err, out)
	}
	var shown struct {
		Pubkey string `json:"pubkey"`
		PoP    string `json:"proof_of_possession"`
	}
	if err := json.Unmarshal([]byte(out), &shown); err != nil {
		t.Fatalf("show --json: %v\n%s", err, out)
	}
	if shown.Pubkey != gen["pubkey"] || shown.PoP != gen["proof_of_possession"] {
		t.Fatalf("show %+v, generate %v", shown, gen)
	}
	pk, _ := hex.DecodeString(strings.TrimPrefix(shown.Pubkey, "0x"))
	popb, _ := hex.DecodeString(strings.TrimPrefix(shown.PoP, "0x"))
	pub, err1 := signer.ParsePublicKey(pk)
	pop, err2 := signer.ParseSignature(popb)
	if err1 != nil || err2 != nil || !pub.VerifyPossession(pop) {
		t.Fatalf("proof of possession does not verify (%v, %v)", err1, err2)
	}

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"wrong password", []string{"show", ks, "--password-file", wrongPw}, "wrong keystore password"},
		{"no password source", []string{"show", ks}, "--password-file"},
		{"overwrite", []string{"generate", "--out", ks, "--password-file", pw}, "already exists"},
		{"no --out", []string{"generate", "--password-file", pw}, "--out FILE is required"},
		{"bad --kdf", []string{"generate", "--out", ks + "2", "--password-file", pw, "--kdf", "argon2"}, "want scrypt or pbkdf2"},
		{"empty password", []string{"generate", "--out", ks + "2", "--password-file", writeFile(t, filepath.Join(dir, "nl.txt"), "\n", 0o600)}, "empty keystore password"},
		{"missing keystore", []string{"show", ks + ".nope", "--password-file", pw}, "no such file"},
		{"import without secret", []string{"import", "--out", ks + "2", "--password-file", pw}, "--secret-file"},
		{"import short secret", []string{"import", "--secret-file", writeFile(t, filepath.Join(dir, "short.hex"), "0x1234", 0o600), "--out", ks + "2", "--password-file", pw}, "invalid BLS secret key"},
		{"import zero secret", []string{"import", "--secret-file", writeFile(t, filepath.Join(dir, "zero.hex"), strings.Repeat("0", 64), 0o600), "--out", ks + "2", "--password-file", pw}, "invalid BLS secret key"},
		{"import not hex", []string{"import", "--secret-file", writeFile(t, filepath.Join(dir, "bad.hex"), strings.Repeat("g", 64), 0o600), "--out", ks + "2", "--password-file", pw}, "not hex"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runKeys(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q\n%s", err, tc.want, out)
			}
		})
	}
	if _, err := os.Stat(ks + "2"); err == nil {
		t.Fatal("a failed command left a keystore behind")
	}

	// A keystore others can read is refused with the fix in the message.
	os.Chmod(ks, 0o644)
	if _, err := runKeys(t, "show", ks, "--password-file", pw); err == nil || !strings.Contains(err.Error(), "chmod 600 "+ks) {
		t.Fatalf("show of a 0644 keystore: %v", err)
	}

	// import the EIP-2335 vector's secret: its known public key comes out.
	secret := writeFile(t, filepath.Join(dir, "sk.hex"), "0x000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f\n", 0o600)
	imported := filepath.Join(dir, "imported.json")
	if out, err := runKeys(t, "import", "--secret-file", secret, "--out", imported, "--password-file", pw, "--kdf", "pbkdf2"); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	out, err = runKeys(t, "show", imported, "--password-file", pw)
	if err != nil {
		t.Fatalf("show: %v\n%s", err, out)
	}
	const vectorPub = "0x9612d7a727c9d0a22e185a1c768478dfe919cada9266988cb32359c11f2b7b27f4ae4040902382ae2910c15e2b420d07"
	if fields(out)["pubkey"] != vectorPub || len(fields(out)["proof_of_possession"]) != 2+2*signer.SignatureSize {
		t.Fatalf("show of the imported vector key:\n%s", out)
	}

	// Help texts name the flags an operator needs.
	for _, sub := range []string{"generate", "import", "show"} {
		out, err := runKeys(t, sub, "--help")
		if err != nil || !strings.Contains(out, "--password-file") || !strings.Contains(out, "EIP-2335") && sub != "show" {
			t.Fatalf("keys %s --help: %v\n%s", sub, err, out)
		}
	}
}
