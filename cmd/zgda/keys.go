package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/zgda/zgda/signer"
)

// stdinIsTerminal decides whether passwords may be prompted for; tests
// replace it.
var stdinIsTerminal = func() bool { return term.IsTerminal(int(os.Stdin.Fd())) }

// zgda keys {generate,import,show}: a DA node operator's BLS key in an
// EIP-2335 keystore.
func init() {
	keysCmd := &cobra.Command{
		Use:   "keys",
		Short: "Create, import and inspect a DA node's BLS key (EIP-2335 keystore)",
		Long: `keys manages the BLS12-381 key a DA node signs attestations with. The key
lives in an EIP-2335 keystore: the password-encrypted JSON format Ethereum
validator clients use (scrypt by default, or pbkdf2; aes-128-ctr).

Keystores are written with mode 0600 and never over an existing file; a
keystore that group or others can read is refused until 'chmod 600 FILE'.

The password comes from --password-file FILE (its first line; a trailing
newline is ignored) or, on a terminal, from a prompt without echo.`,
	}

	var genOut, genPwFile, genKDF string
	generateCmd := &cobra.Command{
		Use:   "generate --out FILE",
		Short: "Generate a fresh key and write it to a new keystore",
		Long: `generate draws a fresh BLS12-381 key from the operating system's random
source, encrypts it under a password (asked twice on a terminal, or read from
--password-file) and writes it as an EIP-2335 keystore to FILE, which must
not exist yet. It prints the public key and its proof of possession, which registering the
node on the chain needs.`,
		Example: `  zgda keys generate --out ~/.zgda/node-key.json
  zgda keys generate --out key.json --password-file pw.txt --kdf pbkdf2`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if genOut == "" {
				return errors.New("--out FILE is required")
			}
			opts, err := kdfOption(genKDF)
			if err != nil {
				return err
			}
			key, err := signer.GenerateKey(nil)
			if err != nil {
				return err
			}
			defer key.Zeroize()
			return writeKeystore(cmd, key, genOut, genPwFile, opts)
		},
	}
	generateCmd.Flags().StringVar(&genOut, "out", "", "keystore file to create (must not exist)")
	generateCmd.Flags().StringVar(&genPwFile, "password-file", "", "read the password from this file instead of prompting")
	generateCmd.Flags().StringVar(&genKDF, "kdf", "scrypt", "key derivation: scrypt (n=2^18, r=8, p=1) or pbkdf2 (hmac-sha256, c=2^18)")
	keysCmd.AddCommand(generateCmd)

	var impOut, impPwFile, impKDF, impSecret string
	importCmd := &cobra.Command{
		Use:   "import --secret-file HEX_FILE --out FILE",
		Short: "Encrypt an existing secret key into a new keystore",
		Long: `import reads a 32-byte BLS12-381 secret key written as hex (64 digits, an
optional 0x, surrounding whitespace ignored) from HEX_FILE, encrypts it under
a password (asked twice on a terminal, or read from --password-file) and
writes it as an EIP-2335 keystore to FILE, which must not exist yet. Delete
HEX_FILE afterwards: it holds the key in the clear.`,
		Example: `  zgda keys import --secret-file sk.hex --out ~/.zgda/node-key.json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if impSecret == "" || impOut == "" {
				return errors.New("--secret-file HEX_FILE and --out FILE are required")
			}
			opts, err := kdfOption(impKDF)
			if err != nil {
				return err
			}
			key, err := readSecretFile(impSecret)
			if err != nil {
				return err
			}
			defer key.Zeroize()
			return writeKeystore(cmd, key, impOut, impPwFile, opts)
		},
	}
	importCmd.Flags().StringVar(&impSecret, "secret-file", "", "file holding the secret key as hex")
	importCmd.Flags().StringVar(&impOut, "out", "", "keystore file to create (must not exist)")
	importCmd.Flags().StringVar(&impPwFile, "password-file", "", "read the password from this file instead of prompting")
	importCmd.Flags().StringVar(&impKDF, "kdf", "scrypt", "key derivation: scrypt (n=2^18, r=8, p=1) or pbkdf2 (hmac-sha256, c=2^18)")
	keysCmd.AddCommand(importCmd)

	var showPwFile string
	var showJSON bool
	showCmd := &cobra.Command{
		Use:   "show FILE",
		Short: "Decrypt a keystore and print its public key and proof of possession",
		Long: `show decrypts the keystore FILE (the password is asked once on a terminal,
or read from --password-file), checks that the key matches the keystore's
pubkey field, and prints the public key and its proof of possession (a BLS
signature over the public key), both as 0x-hex.`,
		Example: `  zgda keys show ~/.zgda/node-key.json --password-file pw.txt --json`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, err := readPassword(cmd, showPwFile, false)
			if err != nil {
				return err
			}
			key, err := signer.LoadKeystoreFile(args[0], pw)
			if err != nil {
				return err
			}
			defer key.Zeroize()
			return printKey(cmd, key, showJSON)
		},
	}
	showCmd.Flags().StringVar(&showPwFile, "password-file", "", "read the password from this file instead of prompting")
	showCmd.Flags().BoolVar(&showJSON, "json", false, "print JSON instead of text")
	keysCmd.AddCommand(showCmd)

	rootCmd.AddCommand(keysCmd)
}

func kdfOption(kdf string) ([]signer.KeystoreOption, error) {
	switch kdf {
	case "scrypt":
		return nil, nil
	case "pbkdf2":
		return []signer.KeystoreOption{signer.WithPBKDF2(signer.DefaultPBKDF2Iterations)}, nil
	}
	return nil, fmt.Errorf("--kdf %q: want scrypt or pbkdf2", kdf)
}

func writeKeystore(cmd *cobra.Command, key *signer.Key, out, pwFile string, opts []signer.KeystoreOption) error {
	if _, err := os.Lstat(out); err == nil {
		return fmt.Errorf("%s already exists; keys never overwrite a keystore, choose another --out", out)
	}
	pw, err := readPassword(cmd, pwFile, true)
	if err != nil {
		return err
	}
	raw, err := signer.EncryptKeystore(key, pw, opts...)
	if err != nil {
		return err
	}
	if err := signer.WriteKeystoreFile(out, raw); err != nil {
		return err
	}
	if err := printKey(cmd, key, false); err != nil {
		return err
	}
	_, err = fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (EIP-2335, mode 0600)\n", out)
	return err
}

func printKey(cmd *cobra.Command, key *signer.Key, asJSON bool) error {
	pub, pop := key.PublicKey().String(), key.ProvePossession().String()
	if asJSON {
		return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]string{"pubkey": pub, "proof_of_possession": pop})
	}
	_, err := fmt.Fprintf(cmd.OutOrStdout(), "pubkey %s\nproof_of_possession %s\n", pub, pop)
	return err
}

// readPassword reads the password from file, or prompts on the terminal
// (twice when confirm is set).
func readPassword(cmd *cobra.Command, file string, confirm bool) (string, error) {
	if file != "" {
		pw, err := signer.ReadPasswordFile(file)
		if err != nil {
			return "", fmt.Errorf("--password-file: %w", err)
		}
		return pw, nil
	}
	if !stdinIsTerminal() {
		return "", errors.New("no terminal to ask for the password on: pass --password-file FILE")
	}
	prompt := func(msg string) (string, error) {
		fmt.Fprint(cmd.ErrOrStderr(), msg)
		b, err := term.ReadPassword(int(os.Stdin.Fd()))
		fmt.Fprintln(cmd.ErrOrStderr())
		if err != nil {
			return "", fmt.Errorf("reading the password: %w", err)
		}
		defer clear(b)
		return string(b), nil
	}
	pw, err := prompt("Keystore password: ")
	if err != nil || !confirm {
		return pw, err
	}
	again, err := prompt("Repeat the password: ")
	if err != nil {
		return "", err
	}
	if again != pw {
		return "", errors.New("the two passwords differ")
	}
	return pw, nil
}

func readSecretFile(path string) (*signer.Key, error) {
	b, err := readSmallFile(path, 1<<10)
	if err != nil {
		return nil, fmt.Errorf("--secret-file: %w", err)
	}
	defer clear(b)
	s := bytes.TrimSpace(b)
	if len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		s = s[2:]
	}
	sk := make([]byte, hex.DecodedLen(len(s)))
	defer clear(sk)
	if _, err := hex.Decode(sk, s); err != nil {
		return nil, fmt.Errorf("--secret-file %s: not hex: %v", path, err)
	}
	key, err := signer.ParseSecretKey(sk)
	if err != nil {
		return nil, fmt.Errorf("--secret-file %s: %w (want 64 hex digits, a scalar below the BLS12-381 group order)", path, err)
	}
	return key, nil
}

func readSmallFile(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		clear(b)
		return nil, fmt.Errorf("%s is larger than %d bytes", path, max)
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("%s is empty", path)
	}
	return b, nil
}
