package chain

import (
	"errors"
	"fmt"

	"github.com/zgda/zgda/da"
)

// Sentinel errors. Transactions rejected by CheckTx or FinalizeBlock carry an
// ABCI code (Code…) that maps back to one of these, so errors.Is works on a
// *TxError whether it came from the in-process node or over RPC.
var (
	// ErrMalformedTx: the bytes do not decode (garbage, truncated, trailing
	// bytes, unknown version or type, a malformed certificate).
	ErrMalformedTx = errors.New("chain: malformed transaction")
	// ErrTxTooLarge: more than MaxTxSize bytes.
	ErrTxTooLarge = errors.New("chain: transaction too large")
	// ErrBadSignature: a signature, proof of possession, VRF proof or
	// aggregate that does not verify, or a key that does not parse.
	ErrBadSignature = errors.New("chain: signature does not verify")
	// ErrUnauthorized: registering a signer or changing its stake without the
	// registrar's signature, or no registrar named in genesis.
	ErrUnauthorized = errors.New("chain: not authorized")
	// ErrBadNonce: a registration whose nonce is not the signer's next one.
	ErrBadNonce = errors.New("chain: wrong nonce")
	// ErrDuplicate: a replay (a VRF output already submitted, a certificate
	// already recorded) or a key registered twice.
	ErrDuplicate = errors.New("chain: duplicate")
	// ErrUnknownSigner: a key or bitmap bit that names no registered signer.
	ErrUnknownSigner = errors.New("chain: signer not registered")
	// ErrNotInQuorum: a bitmap naming a registered signer that holds no slot
	// of the batch's window in the certificate's quorum.
	ErrNotInQuorum = errors.New("chain: signer not in the quorum")
	// ErrInsufficientSlots: the signers hold less than the threshold of the
	// batch window's weight (see *SlotsError).
	ErrInsufficientSlots = errors.New("chain: signers hold too little of the batch window's weight")
	// ErrStaleEpoch: an epoch that has already started (VRF) or is older than
	// the certificate window allows.
	ErrStaleEpoch = errors.New("chain: stale epoch")
	// ErrFutureEpoch: an epoch whose seed (VRF) or quorums (certificate) are
	// not known yet.
	ErrFutureEpoch = errors.New("chain: epoch not reached")
	// ErrUnknownQuorum: a quorum index the epoch does not have.
	ErrUnknownQuorum = errors.New("chain: no such quorum")
	// ErrRegistryFull: params.max_signers signers are registered already.
	ErrRegistryFull = errors.New("chain: signer registry full")
	// ErrRegisteredAfterSeed: a VRF output for epoch e+1 from a signer
	// registered after seed_{e+1} was fixed (docs/spec.md §4.1); its first
	// output can be for the epoch after.
	ErrRegisteredAfterSeed = errors.New("chain: signer registered after the epoch's seed was fixed")
	// ErrInvalidAnswer: a proof-of-access answer whose header, cell or proof
	// does not check out (docs/spec.md §6 Proofs of random access).
	ErrInvalidAnswer = errors.New("chain: invalid proof-of-access answer")
	// ErrNotFound: a query for something the chain does not hold.
	ErrNotFound = errors.New("chain: not found")
	// ErrInternal: a broken invariant or storage failure inside the app.
	ErrInternal = errors.New("chain: internal error")
	// ErrConfig: a bad node configuration file or option.
	ErrConfig = errors.New("chain: bad config")
	// ErrGenesis: a bad genesis file or app_state.
	ErrGenesis = errors.New("chain: bad genesis")
)

// ABCI result codes of zgda transactions and queries (codespace "zgda").
const (
	CodeOK                  uint32 = 0
	CodeMalformed           uint32 = 1
	CodeTooLarge            uint32 = 2
	CodeBadSignature        uint32 = 3
	CodeUnauthorized        uint32 = 4
	CodeBadNonce            uint32 = 5
	CodeDuplicate           uint32 = 6
	CodeUnknownSigner       uint32 = 7
	CodeNotInQuorum         uint32 = 8
	CodeInsufficientSlots   uint32 = 9
	CodeStaleEpoch          uint32 = 10
	CodeFutureEpoch         uint32 = 11
	CodeUnknownQuorum       uint32 = 12
	CodeRegistryFull        uint32 = 13
	CodeNotFound            uint32 = 14
	CodeRegisteredAfterSeed uint32 = 15
	CodeInvalidAnswer       uint32 = 16
	CodeInternal            uint32 = 99
)

// Codespace is the ABCI codespace of zgda's codes.
const Codespace = "zgda"

var codes = []struct {
	code uint32
	err  error
}{
	{CodeMalformed, ErrMalformedTx},
	{CodeTooLarge, ErrTxTooLarge},
	{CodeBadSignature, ErrBadSignature},
	{CodeUnauthorized, ErrUnauthorized},
	{CodeBadNonce, ErrBadNonce},
	{CodeDuplicate, ErrDuplicate},
	{CodeUnknownSigner, ErrUnknownSigner},
	{CodeNotInQuorum, ErrNotInQuorum},
	{CodeInsufficientSlots, ErrInsufficientSlots},
	{CodeStaleEpoch, ErrStaleEpoch},
	{CodeFutureEpoch, ErrFutureEpoch},
	{CodeUnknownQuorum, ErrUnknownQuorum},
	{CodeRegistryFull, ErrRegistryFull},
	{CodeNotFound, ErrNotFound},
	{CodeRegisteredAfterSeed, ErrRegisteredAfterSeed},
	{CodeInvalidAnswer, ErrInvalidAnswer},
	{CodeInternal, ErrInternal},
}

// codeOf maps an error to its ABCI code (CodeInternal when unknown).
func codeOf(err error) uint32 {
	if err == nil {
		return CodeOK
	}
	if errors.Is(err, da.ErrCertificate) {
		return CodeMalformed
	}
	for _, c := range codes {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return CodeInternal
}

// errOfCode maps an ABCI code back to its sentinel (nil for CodeOK).
func errOfCode(code uint32) error {
	if code == CodeOK {
		return nil
	}
	for _, c := range codes {
		if c.code == code {
			return c.err
		}
	}
	return ErrInternal
}

// TxError is a transaction the chain refused, in CheckTx (Height 0) or in
// FinalizeBlock (Height is the block). errors.Is(err, ErrX) works on it.
type TxError struct {
	Code   uint32
	Log    string
	Height int64
	Hash   []byte
}

func (e *TxError) Error() string {
	where := "CheckTx"
	if e.Height > 0 {
		where = fmt.Sprintf("block %d", e.Height)
	}
	return fmt.Sprintf("chain: transaction rejected in %s (code %d): %s", where, e.Code, e.Log)
}

// Unwrap returns the sentinel of the code.
func (e *TxError) Unwrap() error { return errOfCode(e.Code) }

// SlotsError says that a certificate's signers fell short of the weighted
// threshold of its batch's window (docs/spec.md §4.4).
type SlotsError struct {
	Root      da.Hash  // the batch
	Signed    uint64   // signed weight, Σ_r c_r·(Q/m_r)
	Total     uint64   // N·Q
	Threshold Fraction // the share needed
}

func (e *SlotsError) Error() string {
	return fmt.Sprintf("%v: batch %s: signers hold weight %d of %d, need %d/%d of it",
		ErrInsufficientSlots, e.Root, e.Signed, e.Total, e.Threshold.Num, e.Threshold.Den)
}

// Unwrap returns ErrInsufficientSlots.
func (e *SlotsError) Unwrap() error { return ErrInsufficientSlots }
