package chain

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/signer"
)

// Fraction is a ratio num/den.
type Fraction struct {
	Num uint32 `json:"num"`
	Den uint32 `json:"den"`
}

// Params are the chain parameters, fixed in genesis (app_state.params).
type Params struct {
	// EpochLength E: a new epoch opens every E blocks.
	EpochLength uint64 `json:"epoch_length"`
	// QuorumSize M: slots per quorum, a power of two ≥ 4·MaxBatchRows, so
	// that every batch's N = 4D dispersed rows fit one quorum.
	QuorumSize uint32 `json:"quorum_size"`
	// MinBatchSlots W: a batch's window spans S = max(N, W) slots
	// (docs/spec.md §4.2); only batches with N < W are replicated.
	MinBatchSlots uint32 `json:"min_batch_slots"`
	// TokensPerBallot: a signer holds floor(stake / tokens_per_ballot) ballots…
	TokensPerBallot uint64 `json:"tokens_per_ballot"`
	// BallotCap: …but at most ballot_cap.
	BallotCap uint32 `json:"ballot_cap"`
	// Threshold: the share of a batch window's weight the signers must hold.
	Threshold Fraction `json:"threshold"`
	// CertEpochWindow: a certificate for epoch e is accepted while the
	// current epoch is at most e + cert_epoch_window (batches in flight at a
	// boundary still land).
	CertEpochWindow uint64 `json:"cert_epoch_window"`
	// AvailabilityEpochs: a recorded batch whose certificate has epoch e is
	// within the availability window while the current epoch is at most e +
	// availability_epochs (docs/spec.md §6); 0 means always. Outside it,
	// the batch's keys are no longer looked up. It is at least
	// CertEpochWindow, so that no certificate older than the window is
	// recorded, and DA nodes keep rows longer than it.
	AvailabilityEpochs uint64 `json:"availability_epochs"`
	// MaxSigners bounds the registry (and so the bitmap and the ticket count).
	MaxSigners uint32 `json:"max_signers"`
	// PoRAChallenges: proof-of-access challenges per signer and epoch
	// (docs/spec.md §6 Proofs of random access); 0 turns them off.
	PoRAChallenges uint32 `json:"pora_challenges"`
	// PoRADeadline: an answer counts in time within this many blocks of
	// the epoch's first block.
	PoRADeadline uint64 `json:"pora_deadline"`
}

// DefaultAvailabilityEpochs is 14 days of 100-block epochs at one block a
// second, as long as EigenDA keeps blobs (Ethereum keeps its about 18 days).
const DefaultAvailabilityEpochs = 14 * 24 * 3600 / 100

// DefaultParams: M = 1024, W = 256, epochs of 100 blocks, 2/3, an
// availability window of DefaultAvailabilityEpochs.
func DefaultParams() Params {
	return Params{
		EpochLength:     100,
		QuorumSize:      1024,
		MinBatchSlots:   da.DefaultMinBatchSlots,
		TokensPerBallot: 1,
		BallotCap:       1024,
		Threshold:       Fraction{2, 3},
		CertEpochWindow: 1,
		// Bounded, so that DA nodes do not keep every row for ever by
		// default.
		AvailabilityEpochs: DefaultAvailabilityEpochs,
		MaxSigners:         4096,
		PoRAChallenges:     2,
		PoRADeadline:       20,
	}
}

// ValidateBasic checks each field and names the one that is wrong.
func (p Params) ValidateBasic() error {
	switch {
	case p.EpochLength == 0 || p.EpochLength > 1<<32:
		return fmt.Errorf("params.epoch_length: %d, want 1 to 2^32 blocks", p.EpochLength)
	case p.QuorumSize < da.MaxDispersedRows || p.QuorumSize > 1<<16 || p.QuorumSize&(p.QuorumSize-1) != 0:
		return fmt.Errorf("params.quorum_size: %d, want a power of two from %d (4 × the %d rows of the largest batch) to 65536",
			p.QuorumSize, da.MaxDispersedRows, da.MaxBatchRows)
	case p.MinBatchSlots == 0 || p.MinBatchSlots > p.QuorumSize:
		return fmt.Errorf("params.min_batch_slots: %d, want 1 to quorum_size (%d)", p.MinBatchSlots, p.QuorumSize)
	case p.TokensPerBallot == 0:
		return fmt.Errorf("params.tokens_per_ballot: must be at least 1")
	case p.BallotCap == 0 || p.BallotCap > 1<<16:
		return fmt.Errorf("params.ballot_cap: %d, want 1 to 65536", p.BallotCap)
	case p.Threshold.Den == 0 || p.Threshold.Num > p.Threshold.Den ||
		3*uint64(p.Threshold.Num) < 2*uint64(p.Threshold.Den):
		return fmt.Errorf("params.threshold: %d/%d, want a fraction from 2/3 to 1", p.Threshold.Num, p.Threshold.Den)
	case p.CertEpochWindow > 1000:
		return fmt.Errorf("params.cert_epoch_window: %d, want at most 1000", p.CertEpochWindow)
	case p.AvailabilityEpochs != 0 && p.AvailabilityEpochs < p.CertEpochWindow:
		return fmt.Errorf("params.availability_epochs: %d, want 0 (unbounded) or at least cert_epoch_window (%d): a certificate accepted that late must still be inside the availability window",
			p.AvailabilityEpochs, p.CertEpochWindow)
	case p.PoRAChallenges > 64:
		return fmt.Errorf("params.pora_challenges: %d, want 0 (off) to 64", p.PoRAChallenges)
	case p.PoRAChallenges > 0 && p.PoRADeadline == 0:
		return fmt.Errorf("params.pora_deadline: 0 blocks, want at least 1 (answers in time within that many blocks of the epoch's start)")
	case p.MaxSigners == 0 || p.MaxSigners > da.MaxSignerBitmapBytes*8:
		return fmt.Errorf("params.max_signers: %d, want 1 to %d", p.MaxSigners, da.MaxSignerBitmapBytes*8)
	}
	return nil
}

// GenesisState is the app_state of genesis.json.
type GenesisState struct {
	Params Params `json:"params"`
	// Registrar, when set, may register new signers and grant stake.
	Registrar *da.PublicKey `json:"registrar,omitempty"`
	// Signers registered at genesis, indices 0, 1, … in this order.
	Signers []GenesisSigner `json:"signers"`
	// Dispersers registered at genesis, with their quotas.
	Dispersers []GenesisDisperser `json:"dispersers,omitempty"`
}

// GenesisSigner is a signer registered at genesis. VRF, if set, is its VRF
// proof for epoch 0 (seed EpochSeed(0³², 0)), which puts it in epoch 0's
// quorums.
type GenesisSigner struct {
	PubKey da.PublicKey  `json:"pubkey"`
	PoP    da.Signature  `json:"pop"`
	Stake  uint64        `json:"stake"`
	Addrs  []string      `json:"addrs"`
	VRF    *da.Signature `json:"vrf,omitempty"`
}

// GenesisSeed is epoch 0's seed: there is no block hash before genesis, so
// the zero hash stands for it.
func GenesisSeed() da.Hash { return da.EpochSeed(da.Hash{}, 0) }

// NewGenesisSigner makes k a genesis signer with its proof of possession and
// its epoch-0 VRF proof on chainID.
func NewGenesisSigner(chainID string, k *signer.Key, stake uint64, addrs []string) GenesisSigner {
	_, proof := k.VRF(chainID, 0, GenesisSeed())
	return GenesisSigner{
		PubKey: k.PublicKey().Bytes(),
		PoP:    k.ProvePossession().Bytes(),
		Stake:  stake,
		Addrs:  addrs,
		VRF:    &proof,
	}
}

// DefaultGenesisState has the default params, no registrar and no signers.
func DefaultGenesisState() *GenesisState {
	return &GenesisState{Params: DefaultParams(), Signers: []GenesisSigner{}}
}

// ParseGenesisState decodes app_state strictly (unknown fields are errors,
// which name the field); params left out take their defaults. It does not
// Validate.
func ParseGenesisState(raw []byte) (*GenesisState, error) {
	g := DefaultGenesisState()
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return g, nil
	}
	var top struct {
		Params     json.RawMessage   `json:"params"`
		Registrar  json.RawMessage   `json:"registrar"`
		Signers    []json.RawMessage `json:"signers"`
		Dispersers []json.RawMessage `json:"dispersers"`
	}
	if err := strictJSON(raw, &top); err != nil {
		return nil, fmt.Errorf("%w: app_state: %v", ErrGenesis, err)
	}
	if top.Params != nil {
		if err := strictJSON(top.Params, &g.Params); err != nil {
			return nil, fmt.Errorf("%w: app_state.params: %v", ErrGenesis, err)
		}
	}
	if top.Registrar != nil && string(top.Registrar) != "null" {
		var pk da.PublicKey
		if err := strictJSON(top.Registrar, &pk); err != nil {
			return nil, fmt.Errorf("%w: app_state.registrar: %v", ErrGenesis, err)
		}
		g.Registrar = &pk
	}
	for i, rs := range top.Signers {
		var s struct {
			PubKey json.RawMessage `json:"pubkey"`
			PoP    json.RawMessage `json:"pop"`
			Stake  uint64          `json:"stake"`
			Addrs  []string        `json:"addrs"`
			VRF    json.RawMessage `json:"vrf"`
		}
		if err := strictJSON(rs, &s); err != nil {
			return nil, fmt.Errorf("%w: app_state.signers[%d]: %v", ErrGenesis, i, err)
		}
		var gs GenesisSigner
		for _, f := range []struct {
			name string
			raw  json.RawMessage
			dst  any
		}{{"pubkey", s.PubKey, &gs.PubKey}, {"pop", s.PoP, &gs.PoP}} {
			if f.raw == nil {
				return nil, fmt.Errorf("%w: app_state.signers[%d].%s: missing", ErrGenesis, i, f.name)
			}
			if err := strictJSON(f.raw, f.dst); err != nil {
				return nil, fmt.Errorf("%w: app_state.signers[%d].%s: %v", ErrGenesis, i, f.name, err)
			}
		}
		if s.VRF != nil && string(s.VRF) != "null" {
			gs.VRF = new(da.Signature)
			if err := strictJSON(s.VRF, gs.VRF); err != nil {
				return nil, fmt.Errorf("%w: app_state.signers[%d].vrf: %v", ErrGenesis, i, err)
			}
		}
		gs.Stake, gs.Addrs = s.Stake, s.Addrs
		g.Signers = append(g.Signers, gs)
	}
	for i, rd := range top.Dispersers {
		var d GenesisDisperser
		if err := strictJSON(rd, &d); err != nil {
			return nil, fmt.Errorf("%w: app_state.dispersers[%d]: %v", ErrGenesis, i, err)
		}
		g.Dispersers = append(g.Dispersers, d)
	}
	return g, nil
}

func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the JSON value")
	}
	return nil
}

// Validate checks the params, the registrar key, and every signer: key,
// proof of possession, addresses, epoch-0 VRF proof. Errors name the field.
func (g *GenesisState) Validate(chainID string) error {
	if err := g.Params.ValidateBasic(); err != nil {
		return fmt.Errorf("%w: app_state.%v", ErrGenesis, err)
	}
	if g.Registrar != nil {
		if _, err := signer.ParsePublicKey(g.Registrar[:]); err != nil {
			return fmt.Errorf("%w: app_state.registrar: %v", ErrGenesis, err)
		}
	}
	if len(g.Signers) > int(g.Params.MaxSigners) {
		return fmt.Errorf("%w: app_state.signers: %d signers, more than params.max_signers = %d",
			ErrGenesis, len(g.Signers), g.Params.MaxSigners)
	}
	seen := map[da.PublicKey]int{}
	for i, s := range g.Signers {
		field := fmt.Sprintf("app_state.signers[%d]", i)
		if j, dup := seen[s.PubKey]; dup {
			return fmt.Errorf("%w: %s.pubkey: the same key as signers[%d]", ErrGenesis, field, j)
		}
		seen[s.PubKey] = i
		pk, err := signer.ParsePublicKey(s.PubKey[:])
		if err != nil {
			return fmt.Errorf("%w: %s.pubkey: %v", ErrGenesis, field, err)
		}
		pop, err := signer.ParseSignature(s.PoP[:])
		if err != nil || !pk.VerifyPossession(pop) {
			return fmt.Errorf("%w: %s.pop: not a valid proof of possession for %s", ErrGenesis, field, s.PubKey)
		}
		if err := validateAddrs(s.Addrs); err != nil {
			return fmt.Errorf("%w: %s.addrs: %v", ErrGenesis, field, err)
		}
		if s.VRF != nil {
			if _, err := signer.VerifyVRF(pk, chainID, 0, GenesisSeed(), *s.VRF); err != nil {
				return fmt.Errorf("%w: %s.vrf: not a valid epoch-0 VRF proof on chain %q: %v", ErrGenesis, field, chainID, err)
			}
		}
	}
	dseen := map[DisperserKey]int{}
	for i, d := range g.Dispersers {
		if j, dup := dseen[d.PubKey]; dup {
			return fmt.Errorf("%w: app_state.dispersers[%d].pubkey: the same key as dispersers[%d]", ErrGenesis, i, j)
		}
		dseen[d.PubKey] = i
	}
	return nil
}

// validateAddrs checks a signer's network addresses: at most MaxAddrs, each
// 1 to MaxAddrLen printable ASCII bytes without spaces (e.g. multiaddrs).
func validateAddrs(addrs []string) error {
	if len(addrs) > MaxAddrs {
		return fmt.Errorf("%d addresses, at most %d allowed", len(addrs), MaxAddrs)
	}
	for i, a := range addrs {
		if len(a) == 0 || len(a) > MaxAddrLen {
			return fmt.Errorf("address %d: %d bytes, want 1 to %d", i, len(a), MaxAddrLen)
		}
		for j := 0; j < len(a); j++ {
			if a[j] <= ' ' || a[j] > '~' {
				return fmt.Errorf("address %d (%q): byte %d is not printable ASCII", i, a, j)
			}
		}
	}
	return nil
}
