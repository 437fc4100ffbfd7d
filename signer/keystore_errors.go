package signer

import "errors"

// Errors of the EIP-2335 keystore layer. Functions wrap them with what was
// wrong and, where the user can act, what to do.
var (
	// ErrKeystoreMalformed: not a version-4 EIP-2335 keystore, or a field is
	// missing, not valid hex, of the wrong length, or names a KDF, PRF,
	// checksum or cipher this package does not support.
	ErrKeystoreMalformed = errors.New("signer: malformed EIP-2335 keystore")
	// ErrKeystoreKDFLimit: KDF parameters above the caps DecryptKeystore
	// accepts (MaxScryptN, MaxScryptMemory, MaxPBKDF2Iterations), which keep a
	// hostile file from exhausting memory or CPU.
	ErrKeystoreKDFLimit = errors.New("signer: keystore KDF parameters above the accepted maximum")
	// ErrKeystorePassword: the checksum does not match, which means a wrong
	// password (or a keystore whose cipher or checksum message was altered).
	ErrKeystorePassword = errors.New("signer: wrong keystore password")
	// ErrKeystorePubkeyMismatch: the decrypted secret is a valid key whose
	// public key is not the keystore's pubkey field.
	ErrKeystorePubkeyMismatch = errors.New("signer: keystore pubkey does not match its decrypted key")
	// ErrKeystoreEmptyPassword: encrypting under a password that is empty
	// after EIP-2335 processing (control codes stripped).
	ErrKeystoreEmptyPassword = errors.New("signer: empty keystore password")
	// ErrKeystorePermissions: a keystore file that group or others can access
	// (mode & 0o077 != 0); the message says to chmod 600 it.
	ErrKeystorePermissions = errors.New("signer: keystore file permissions too open")
	// ErrPasswordFilePermissions: a password file that group or others can
	// access (mode & 0o077 != 0); the message says to chmod 600 it.
	ErrPasswordFilePermissions = errors.New("signer: password file permissions too open")
	// ErrKeystoreExists: WriteKeystoreFile refuses to replace an existing file.
	ErrKeystoreExists = errors.New("signer: keystore file already exists")
)
