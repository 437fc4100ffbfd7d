package chain

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/signer"
)

// AppVersion is the ABCI application protocol version.
const AppVersion = 1

// App is the zgda ABCI application: the signer registry, epochs and their
// quorums, and certificates (docs/spec.md §6). It is safe for concurrent use;
// CometBFT drives it through a local client.
type App struct {
	abci.BaseApplication

	mu      sync.Mutex
	chainID string
	st      *store
	log     *slog.Logger
	closed  bool

	// Loaded from the state once it is initialized.
	ready     bool
	params    Params
	base      int64
	registrar *signer.PublicKey

	// Caches of immutable facts: a signer's parsed key never changes, nor
	// does a started epoch's quorums, nor whether a certificate
	// transaction's aggregate signature verifies.
	pks      map[uint32]*signer.PublicKey
	quorums  map[uint64][]quorumInfo
	vmu      sync.Mutex // guards verified, which CheckTx uses outside mu
	verified *hashSet

	// The block being finalized, until Commit.
	finalHeight int64
	finalHash   []byte
	finalTxs    []TxResult

	// Recent committed app hashes by height, for comparing validators.
	history map[int64][]byte

	wmu       sync.Mutex
	waiters   map[[32]byte][]chan TxResult
	committed chan struct{} // closed and replaced at each Commit
}

type quorumInfo struct {
	q       da.Quorum
	members map[uint32]bool
}

// TxResult is the outcome of a transaction in a committed block.
type TxResult struct {
	Hash   string `json:"hash"` // hex, as CometBFT shows it
	Height int64  `json:"height"`
	Code   uint32 `json:"code"`
	Log    string `json:"log"`
}

// Err is nil for an accepted transaction, else a *TxError.
func (r *TxResult) Err() error {
	if r.Code == CodeOK {
		return nil
	}
	h, _ := hex.DecodeString(r.Hash)
	return &TxError{Code: r.Code, Log: r.Log, Height: r.Height, Hash: h}
}

// NewApp opens (or creates) the app state in dir for chain chainID.
// logger may be nil. Close it after the node that drives it has stopped.
func NewApp(dir, chainID string, logger *slog.Logger) (*App, error) {
	st, err := openStore(dir)
	if err != nil {
		return nil, err
	}
	return newApp(st, chainID, logger)
}

// newApp is NewApp over an open store (tests pass other backends).
func newApp(st *store, chainID string, logger *slog.Logger) (*App, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	a := &App{
		chainID:   chainID,
		st:        st,
		log:       logger,
		pks:       map[uint32]*signer.PublicKey{},
		quorums:   map[uint64][]quorumInfo{},
		verified:  newHashSet(1 << 14),
		waiters:   map[[32]byte][]chan TxResult{},
		history:   map[int64][]byte{},
		committed: make(chan struct{}),
	}
	if err := a.load(); err != nil {
		st.close()
		return nil, err
	}
	return a, nil
}

// Close closes the state database; later calls do nothing.
func (a *App) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil
	}
	a.closed = true
	return a.st.close()
}

// ChainID is the chain the app serves.
func (a *App) ChainID() string { return a.chainID }

// load reads the parameters from the committed state, if initialized.
func (a *App) load() error {
	r := stateReader{view{s: a.st}}
	b, err := a.st.getCommitted(keyParams)
	if err != nil || b == nil {
		return err
	}
	if a.params, err = r.params(); err != nil {
		return err
	}
	base, err := r.u64(keyBase)
	if err != nil {
		return err
	}
	a.base = int64(base)
	if rb, err := a.st.getCommitted(keyRegistrar); err != nil {
		return err
	} else if rb != nil {
		if a.registrar, err = signer.ParsePublicKey(rb); err != nil {
			return fmt.Errorf("%w: stored registrar: %v", ErrInternal, err)
		}
	}
	a.ready = true
	// Proofs at a stated height are served for the availability window.
	if b, ok := a.st.back.(*iavlBackend); ok {
		b.keep = keepHeights(a.params)
	}
	return nil
}

// epochOf is the epoch of block h.
func (a *App) epochOf(h int64) uint64 {
	if h < a.base {
		return 0
	}
	return uint64(h-a.base) / a.params.EpochLength
}

func (a *App) epochStart(e uint64) int64 { return a.base + int64(e*a.params.EpochLength) }

// nextHeight is the height of the next block: the genesis initial height
// (docs/spec.md §4.1, b₀) before any block, then one above the last. The
// genesis state is committed at height 0 whatever b₀ is, so that Info
// reports no block and CometBFT replays InitChain until the first commits.
func (a *App) nextHeight() int64 {
	if a.st.height == 0 {
		return a.base
	}
	return a.st.height + 1
}

// Info implements abci.Application.
func (a *App) Info(context.Context, *abci.InfoRequest) (*abci.InfoResponse, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return &abci.InfoResponse{
		Data:             "zgda",
		Version:          "1",
		AppVersion:       AppVersion,
		LastBlockHeight:  a.st.height,
		LastBlockAppHash: a.st.appHash,
	}, nil
}

// InitChain writes the genesis state: params, registrar, genesis signers and
// epoch 0 with its quorums from the genesis VRF proofs. It is committed at
// once (height 0), so CheckTx works before the first block; CometBFT calls
// InitChain again if it restarts before block 1, which rewrites the same state.
func (a *App) InitChain(_ context.Context, req *abci.InitChainRequest) (*abci.InitChainResponse, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if req.ChainId != a.chainID {
		return nil, fmt.Errorf("%w: InitChain for chain %q, app opened for %q", ErrGenesis, req.ChainId, a.chainID)
	}
	g, err := ParseGenesisState(req.AppStateBytes)
	if err != nil {
		return nil, err
	}
	if err := g.Validate(a.chainID); err != nil {
		return nil, err
	}
	if a.ready {
		// CometBFT restarted before block 1 and replays InitChain: the
		// genesis state is committed already (version 1 of the state).
		return &abci.InitChainResponse{AppHash: bytes.Clone(a.st.appHash)}, nil
	}
	a.st.pending = map[string]entry{}
	v := view{s: a.st, overlay: true}
	pb, err := json.Marshal(g.Params)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInternal, err)
	}
	v.set(keyParams, pb)
	base := req.InitialHeight
	if base < 1 {
		base = 1
	}
	putU64(v, keyBase, uint64(base))
	if g.Registrar != nil {
		v.set(keyRegistrar, g.Registrar[:])
	}
	var ps []da.Participant
	for i, s := range g.Signers {
		rec := SignerInfo{Index: uint32(i), PubKey: s.PubKey, PoP: s.PoP, Stake: s.Stake, Addrs: s.Addrs}
		v.set(keySigner(uint32(i)), rec.marshal())
		putU32(v, keyPubKey(s.PubKey), uint32(i))
		if s.VRF != nil {
			out := da.VRFOutput(*s.VRF)
			v.set(keyVRF(0, uint32(i)), out[:])
			ps = append(ps, da.Participant{Signer: uint32(i), VRF: out,
				Ballots: da.Ballots(s.Stake, g.Params.TokensPerBallot, g.Params.BallotCap)})
		}
	}
	putU32(v, keyCount, uint32(len(g.Signers)))
	for _, d := range g.Dispersers {
		rec := DisperserInfo{PubKey: d.PubKey, Quota: d.Quota}
		v.set(keyDisperser(d.PubKey), rec.marshal())
	}
	e0 := epochRecord{seed: GenesisSeed(), started: true, m: g.Params.QuorumSize,
		quorums: da.AssignQuorums(ps, int(g.Params.QuorumSize))}
	v.set(keyEpoch(0), e0.marshal())
	h, err := a.st.hashPending(0)
	if err != nil {
		return nil, err
	}
	if err := a.st.commit(0, h); err != nil {
		return nil, err
	}
	a.pks = map[uint32]*signer.PublicKey{}
	a.quorums = map[uint64][]quorumInfo{}
	if err := a.load(); err != nil {
		return nil, err
	}
	a.log.Info("chain initialized", "chain_id", a.chainID, "signers", len(g.Signers),
		"epoch0_quorums", len(e0.quorums), "app_hash", hex.EncodeToString(h))
	return &abci.InitChainResponse{AppHash: h}, nil
}

// CheckTx verifies a transaction against the committed state as if it went
// into the next block.
//
// The node runs the app with an unsynchronized local client, so CheckTx calls
// arrive concurrently: the state checks run under the app's lock, and a
// certificate's aggregate signature (the expensive part) is checked after
// the lock is released, on as many cores as there are callers.
func (a *App) CheckTx(_ context.Context, req *abci.CheckTxRequest) (*abci.CheckTxResponse, error) {
	a.mu.Lock()
	var err error
	var job *sigJob
	if !a.ready {
		err = fmt.Errorf("%w: chain not initialized yet", ErrFutureEpoch)
	} else {
		job, err = a.execTx(view{s: a.st}, req.Tx, a.nextHeight(), true)
	}
	a.mu.Unlock()
	if err == nil && job != nil {
		err = a.runSigJob(job)
	}
	if err != nil {
		return &abci.CheckTxResponse{Code: codeOf(err), Log: err.Error(), Codespace: Codespace}, nil
	}
	return &abci.CheckTxResponse{Code: CodeOK}, nil
}

// FinalizeBlock opens an epoch at a boundary, then verifies and applies each
// transaction against the state as the block changes it.
func (a *App) FinalizeBlock(_ context.Context, req *abci.FinalizeBlockRequest) (*abci.FinalizeBlockResponse, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.ready {
		return nil, fmt.Errorf("%w: FinalizeBlock before InitChain", ErrInternal)
	}
	if want := a.nextHeight(); req.Height != want {
		return nil, fmt.Errorf("%w: FinalizeBlock for height %d, want %d (committed height %d)", ErrInternal, req.Height, want, a.st.height)
	}
	a.st.pending = map[string]entry{}
	v := view{s: a.st, overlay: true}
	h := req.Height
	if rel := h - a.base; rel >= 0 && uint64(rel)%a.params.EpochLength == 0 {
		var bh da.Hash
		copy(bh[:], req.Hash)
		if err := a.openEpoch(v, uint64(rel)/a.params.EpochLength, bh); err != nil {
			return nil, err
		}
		if err := a.pruneExpired(v, uint64(rel)/a.params.EpochLength); err != nil {
			return nil, err
		}
		if err := a.openChallenges(v, uint64(rel)/a.params.EpochLength, bh); err != nil {
			return nil, err
		}
	}
	if err := a.pruneEpochRecords(v, a.epochOf(h)); err != nil {
		return nil, err
	}
	results := make([]*abci.ExecTxResult, len(req.Txs))
	a.finalTxs = a.finalTxs[:0]
	for i, tx := range req.Txs {
		_, err := a.execTx(v, tx, h, false)
		r := &abci.ExecTxResult{Code: codeOf(err)}
		if err != nil {
			r.Log, r.Codespace = err.Error(), Codespace
		}
		results[i] = r
		sum := sha256.Sum256(tx)
		a.finalTxs = append(a.finalTxs, TxResult{Hash: hex.EncodeToString(sum[:]), Height: h, Code: r.Code, Log: r.Log})
	}
	a.finalHeight = h
	hash, err := a.st.hashPending(h)
	if err != nil {
		return nil, err
	}
	a.finalHash = hash
	return &abci.FinalizeBlockResponse{TxResults: results, AppHash: a.finalHash}, nil
}

// Commit persists the finalized block's writes and wakes waiters.
func (a *App) Commit(context.Context, *abci.CommitRequest) (*abci.CommitResponse, error) {
	a.mu.Lock()
	if a.finalHeight == 0 || a.finalHeight != a.nextHeight() {
		a.mu.Unlock()
		return nil, fmt.Errorf("%w: Commit without FinalizeBlock (finalized %d, committed %d)", ErrInternal, a.finalHeight, a.st.height)
	}
	if err := a.st.commit(a.finalHeight, a.finalHash); err != nil {
		a.mu.Unlock()
		return nil, err
	}
	txs := a.finalTxs
	a.finalTxs = nil
	a.history[a.finalHeight] = a.finalHash
	delete(a.history, a.finalHeight-historySize)
	a.mu.Unlock()

	a.wmu.Lock()
	for _, r := range txs {
		var key [32]byte
		hex.Decode(key[:], []byte(r.Hash))
		for _, ch := range a.waiters[key] {
			ch <- r
		}
		delete(a.waiters, key)
	}
	close(a.committed)
	a.committed = make(chan struct{})
	a.wmu.Unlock()
	return &abci.CommitResponse{}, nil
}

// waitTx registers interest in the transaction with SHA-256 hash; register
// before broadcasting. The channel gets its result once a block including
// it commits. cancel must be called if the result is no longer wanted.
func (a *App) waitTx(hash [32]byte) (<-chan TxResult, func()) {
	ch := make(chan TxResult, 1)
	a.wmu.Lock()
	a.waiters[hash] = append(a.waiters[hash], ch)
	a.wmu.Unlock()
	return ch, func() {
		a.wmu.Lock()
		defer a.wmu.Unlock()
		ws := a.waiters[hash]
		for i, w := range ws {
			if w == ch {
				ws = append(ws[:i], ws[i+1:]...)
				break
			}
		}
		if len(ws) == 0 {
			delete(a.waiters, hash)
		} else {
			a.waiters[hash] = ws
		}
	}
}

// nextCommit returns a channel closed at the next Commit.
func (a *App) nextCommit() <-chan struct{} {
	a.wmu.Lock()
	defer a.wmu.Unlock()
	return a.committed
}

// Height is the last committed height.
func (a *App) Height() int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.st.height
}

const historySize = 1024

// AppHashAt is the app hash committed at height h, if h is among the last
// 1024 heights this process committed.
func (a *App) AppHashAt(h int64) ([]byte, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	b, ok := a.history[h]
	return append([]byte(nil), b...), ok
}

// AppHash is the last committed app hash.
func (a *App) AppHash() []byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]byte(nil), a.st.appHash...)
}

// openEpoch runs at the first block of epoch e, before its transactions: it
// fixes e's quorums from the VRF outputs submitted for e during e−1, with
// each signer's stake as of the block that fixed seed_e, and opens VRF
// submission for e+1 with seed SHA-256(this block's hash ‖ e+1), recording
// who is registered now: only they may submit for e+1 (docs/spec.md §4.1).
// Epoch 0's quorums come from genesis.
func (a *App) openEpoch(v view, e uint64, blockHash da.Hash) error {
	r := stateReader{v}
	if e > 0 {
		rec, err := r.epoch(e)
		if err != nil {
			return err
		}
		if rec == nil {
			return fmt.Errorf("%w: epoch %d opens without a seed", ErrInternal, e)
		}
		vrfs, err := r.vrfs(e)
		if err != nil {
			return err
		}
		atSeed, err := r.seedStakes(e)
		if err != nil {
			return err
		}
		ps := make([]da.Participant, 0, len(vrfs))
		for _, vr := range vrfs {
			stake, ok := atSeed[vr.Signer]
			if !ok {
				s, err := r.signer(vr.Signer)
				if err != nil {
					return err
				}
				stake = s.Stake
			}
			ps = append(ps, da.Participant{Signer: vr.Signer, VRF: vr.Output,
				Ballots: da.Ballots(stake, a.params.TokensPerBallot, a.params.BallotCap)})
		}
		for i := range atSeed {
			v.del(keySeedStake(e, i))
		}
		rec.started, rec.m = true, a.params.QuorumSize
		rec.quorums = da.AssignQuorums(ps, int(a.params.QuorumSize))
		v.set(keyEpoch(e), rec.marshal())
		a.log.Info("epoch opened", "epoch", e, "vrfs", len(vrfs), "quorums", len(rec.quorums))
	}
	next := epochRecord{seed: da.EpochSeed(blockHash, e+1), m: a.params.QuorumSize}
	v.set(keyEpoch(e+1), next.marshal())
	n, err := r.count()
	if err != nil {
		return err
	}
	putU32(v, keySeedSigners(e+1), n)
	return nil
}

// execTx verifies tx for block h against v and, unless check, applies it.
// With check, a certificate's aggregate signature is not verified here but
// returned as a job for the caller to run (nil when already verified).
func (a *App) execTx(v view, raw []byte, h int64, check bool) (*sigJob, error) {
	tx, err := DecodeTx(raw)
	if err != nil {
		return nil, err
	}
	switch t := tx.(type) {
	case *RegisterTx:
		return nil, a.execRegister(v, t, h, check)
	case *VRFTx:
		return nil, a.execVRF(v, t, h, check)
	case *CertificateTx:
		return a.execCertificate(v, t, raw, h, check)
	case *DisperserTx:
		return nil, a.execDisperser(v, t, check)
	case *PoRATx:
		return nil, a.execPoRA(v, t, h, check)
	}
	return nil, fmt.Errorf("%w: unhandled transaction type", ErrInternal)
}

// sigJob is a certificate's aggregate-signature check.
type sigJob struct {
	c   *da.Certificate
	pks []*signer.PublicKey
	msg []byte
	sum [32]byte // SHA-256 of the transaction
}

// runSigJob verifies the aggregate and remembers a success: whether a
// transaction's signature verifies never changes (signer keys are immutable).
func (a *App) runSigJob(j *sigJob) error {
	if err := VerifyCertificateSignature(j.c, j.msg, j.pks); err != nil {
		return err
	}
	a.vmu.Lock()
	a.verified.add(j.sum)
	a.vmu.Unlock()
	return nil
}

func (a *App) execRegister(v view, t *RegisterTx, h int64, check bool) error {
	r := stateReader{v}
	pk, err := signer.ParsePublicKey(t.PubKey[:])
	if err != nil {
		return fmt.Errorf("%w: register: %v", ErrBadSignature, err)
	}
	msg := t.SignBytes(a.chainID)
	if sig, err := signer.ParseSignature(t.Sig[:]); err != nil || !pk.Verify(msg, sig) {
		return fmt.Errorf("%w: register: %s's signature over the registration does not verify", ErrBadSignature, t.PubKey)
	}
	registrarSigned := func(why string) error {
		if a.registrar == nil {
			return fmt.Errorf("%w: %s needs the registrar's signature, and genesis names no registrar", ErrUnauthorized, why)
		}
		if t.RegistrarSig == nil {
			return fmt.Errorf("%w: %s needs the registrar's signature", ErrUnauthorized, why)
		}
		if rs, err := signer.ParseSignature(t.RegistrarSig[:]); err != nil || !a.registrar.Verify(msg, rs) {
			return fmt.Errorf("%w: register: the registrar's signature does not verify", ErrBadSignature)
		}
		return nil
	}
	idx, exists, err := r.signerIndex(t.PubKey)
	if err != nil {
		return err
	}
	if !exists {
		if err := registrarSigned("registering a new signer"); err != nil {
			return err
		}
		if t.Nonce != 1 {
			return fmt.Errorf("%w: a new signer's registration carries nonce 1, got %d", ErrBadNonce, t.Nonce)
		}
		if pop, err := signer.ParseSignature(t.PoP[:]); err != nil || !pk.VerifyPossession(pop) {
			return fmt.Errorf("%w: register: the proof of possession of %s does not verify", ErrBadSignature, t.PubKey)
		}
		n, err := r.count()
		if err != nil {
			return err
		}
		if n >= a.params.MaxSigners {
			return fmt.Errorf("%w: %d signers registered, params.max_signers = %d", ErrRegistryFull, n, a.params.MaxSigners)
		}
		if check {
			return nil
		}
		rec := SignerInfo{Index: n, PubKey: t.PubKey, PoP: t.PoP, Stake: t.Stake, Nonce: 1, Addrs: t.Addrs}
		v.set(keySigner(n), rec.marshal())
		putU32(v, keyPubKey(t.PubKey), n)
		putU32(v, keyCount, n+1)
		return nil
	}
	rec, err := r.signer(idx)
	if err != nil {
		return err
	}
	if t.Nonce != rec.Nonce+1 {
		return fmt.Errorf("%w: signer %d: nonce %d, want %d (replayed or out of order)", ErrBadNonce, idx, t.Nonce, rec.Nonce+1)
	}
	if t.PoP != rec.PoP {
		return fmt.Errorf("%w: signer %d: the proof of possession differs from the registered one", ErrBadSignature, idx)
	}
	if t.Stake != rec.Stake || t.RegistrarSig != nil {
		if err := registrarSigned(fmt.Sprintf("changing signer %d's stake from %d to %d", idx, rec.Stake, t.Stake)); err != nil {
			return err
		}
	}
	if check {
		return nil
	}
	if t.Stake != rec.Stake {
		// The next epoch's seed is fixed: its quorums keep the stake as of
		// that block (docs/spec.md §4.1), kept here at the first change.
		k := keySeedStake(a.epochOf(h)+1, idx)
		if prev, err := v.get(k); err != nil {
			return err
		} else if prev == nil {
			putU64(v, k, rec.Stake)
		}
	}
	rec.Stake, rec.Nonce, rec.Addrs = t.Stake, t.Nonce, t.Addrs
	v.set(keySigner(idx), rec.marshal())
	return nil
}

func (a *App) execVRF(v view, t *VRFTx, h int64, check bool) error {
	r := stateReader{v}
	idx, ok, err := r.signerIndex(t.PubKey)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: VRF output from %s", ErrUnknownSigner, t.PubKey)
	}
	cur := a.epochOf(h)
	if t.Epoch <= cur {
		return fmt.Errorf("%w: VRF output for epoch %d, which has started (current epoch %d; submit for epoch %d)",
			ErrStaleEpoch, t.Epoch, cur, cur+1)
	}
	if t.Epoch > cur+1 {
		return fmt.Errorf("%w: VRF output for epoch %d, whose seed is not known yet (current epoch %d)", ErrFutureEpoch, t.Epoch, cur)
	}
	rec, err := r.epoch(t.Epoch)
	if err != nil {
		return err
	}
	if rec == nil {
		return fmt.Errorf("%w: VRF output for epoch %d, whose seed is not known yet", ErrFutureEpoch, t.Epoch)
	}
	// Only signers registered before the seed was fixed: a later one could
	// pick its key knowing the seed and the outputs already submitted.
	n, ok, err := r.seedSigners(t.Epoch)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: epoch %d has a seed but no registry snapshot", ErrInternal, t.Epoch)
	}
	if idx >= n {
		return fmt.Errorf("%w: signer %d registered after the seed of epoch %d was fixed at block %d, when %d signers were registered "+
			"(docs/spec.md §4.1: an output for epoch e+1 counts only from signers registered before seed_{e+1} is fixed); "+
			"its first VRF output can be for epoch %d",
			ErrRegisteredAfterSeed, idx, t.Epoch, a.epochStart(t.Epoch-1), n, t.Epoch+1)
	}
	if prev, err := v.get(keyVRF(t.Epoch, idx)); err != nil {
		return err
	} else if prev != nil {
		return fmt.Errorf("%w: signer %d already submitted its VRF output for epoch %d", ErrDuplicate, idx, t.Epoch)
	}
	pk, err := a.pubKey(r, idx)
	if err != nil {
		return err
	}
	out, err := signer.VerifyVRF(pk, a.chainID, t.Epoch, rec.seed, t.Proof)
	if err != nil {
		return fmt.Errorf("%w: signer %d: %v", ErrBadSignature, idx, err)
	}
	if !check {
		v.set(keyVRF(t.Epoch, idx), out[:])
	}
	return nil
}

func (a *App) execCertificate(v view, t *CertificateTx, raw []byte, h int64, check bool) (*sigJob, error) {
	c := &t.Cert
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedTx, err)
	}
	r := stateReader{v}
	if prev, err := r.cert(c.BatchRoot); err != nil {
		return nil, err
	} else if prev != nil {
		return nil, fmt.Errorf("%w: a certificate for batch %s was recorded at height %d", ErrDuplicate, c.BatchRoot, prev.Height)
	}
	cur := a.epochOf(h)
	if c.Epoch > cur {
		return nil, fmt.Errorf("%w: certificate for epoch %d, current epoch %d", ErrFutureEpoch, c.Epoch, cur)
	}
	if cur-c.Epoch > a.params.CertEpochWindow {
		return nil, fmt.Errorf("%w: certificate for epoch %d; in epoch %d only epochs from %d are accepted",
			ErrStaleEpoch, c.Epoch, cur, cur-a.params.CertEpochWindow)
	}
	qs, err := a.epochQuorums(r, c.Epoch)
	if err != nil {
		return nil, err
	}
	if int(c.Quorum) >= len(qs) {
		return nil, fmt.Errorf("%w: certificate names quorum %d; epoch %d has %d", ErrUnknownQuorum, c.Quorum, c.Epoch, len(qs))
	}
	n, err := r.count()
	if err != nil {
		return nil, err
	}
	if err := CheckCertificateSlots(a.params, c, qs[c.Quorum].q, n); err != nil {
		return nil, err
	}
	signers := c.Signers.Indices()
	sum := sha256.Sum256(raw)
	a.vmu.Lock()
	done := a.verified.has(sum)
	a.vmu.Unlock()
	var job *sigJob
	if !done {
		job = &sigJob{c: c, msg: c.Message(a.chainID), sum: sum, pks: make([]*signer.PublicKey, len(signers))}
		for j, i := range signers {
			if job.pks[j], err = a.pubKey(r, i); err != nil {
				return nil, err
			}
		}
	}
	if check {
		return job, nil
	}
	if job != nil {
		if err := a.runSigJob(job); err != nil {
			return nil, err
		}
	}
	v.set(keyCert(c.BatchRoot), marshalCertRecord(c, h))
	if err := recordBatch(v, c.BatchRoot, c.Epoch); err != nil {
		return nil, err
	}
	// A key names its most recently recorded batch (docs/spec.md §6): a
	// repost that was certified again points readers at the newer copy.
	offset := 0
	for i, b := range c.Blobs {
		loc := BlobLocation{BatchRoot: c.BatchRoot, Index: i, Offset: offset, Rows: b.Rows, Height: h}
		v.set(keyBlob(b.Key), marshalBlobLocation(&loc, c.Epoch))
		offset += int(b.Rows)
	}
	return nil, nil
}

// pubKey returns signer i's parsed key (cached: keys never change).
func (a *App) pubKey(r stateReader, i uint32) (*signer.PublicKey, error) {
	if pk, ok := a.pks[i]; ok {
		return pk, nil
	}
	s, err := r.signer(i)
	if err != nil {
		return nil, err
	}
	pk, err := signer.ParsePublicKey(s.PubKey[:])
	if err != nil {
		return nil, fmt.Errorf("%w: stored key of signer %d: %v", ErrInternal, i, err)
	}
	a.pks[i] = pk
	return pk, nil
}

// epochQuorums returns a started epoch's quorums (cached).
func (a *App) epochQuorums(r stateReader, e uint64) ([]quorumInfo, error) {
	if qs, ok := a.quorums[e]; ok {
		return qs, nil
	}
	rec, err := r.epoch(e)
	if err != nil {
		return nil, err
	}
	if rec == nil || !rec.started {
		return nil, fmt.Errorf("%w: epoch %d has not started", ErrFutureEpoch, e)
	}
	qs := make([]quorumInfo, len(rec.quorums))
	for i, q := range rec.quorums {
		m := map[uint32]bool{}
		for _, s := range q {
			m[s] = true
		}
		qs[i] = quorumInfo{q: q, members: m}
	}
	if len(a.quorums) >= 8 {
		for k := range a.quorums { // drop the oldest
			oldest := k
			for k2 := range a.quorums {
				oldest = min(oldest, k2)
			}
			delete(a.quorums, oldest)
			break
		}
	}
	a.quorums[e] = qs
	return qs, nil
}

// hashSet is a bounded set of hashes, oldest evicted first.
type hashSet struct {
	m    map[[32]byte]struct{}
	ring [][32]byte
	next int
}

func newHashSet(n int) *hashSet {
	return &hashSet{m: make(map[[32]byte]struct{}, n), ring: make([][32]byte, 0, n)}
}

func (s *hashSet) has(h [32]byte) bool { _, ok := s.m[h]; return ok }

func (s *hashSet) add(h [32]byte) {
	if _, ok := s.m[h]; ok {
		return
	}
	if len(s.ring) < cap(s.ring) {
		s.ring = append(s.ring, h)
	} else {
		delete(s.m, s.ring[s.next])
		s.ring[s.next] = h
		s.next = (s.next + 1) % len(s.ring)
	}
	s.m[h] = struct{}{}
}

// CheckCertificateSlots checks c against quorum q of its epoch, on a chain
// with params p and registered signers (docs/spec.md §4.4): every bitmap
// signer is registered and holds a slot of the batch's window, and the
// signers' slots meet the threshold. The chain runs it on every
// certificate; `zgda verify` runs it on proven quorums. Errors wrap
// ErrMalformedTx, ErrUnknownSigner, ErrNotInQuorum or are a *SlotsError.
func CheckCertificateSlots(p Params, c *da.Certificate, q da.Quorum, registered uint32) error {
	win, err := da.NewWindow(c.BatchRoot, c.DispersedRows(), int(p.MinBatchSlots), int(p.QuorumSize))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrMalformedTx, err)
	}
	if len(q) != int(p.QuorumSize) {
		return fmt.Errorf("%w: quorum %d of epoch %d has %d slots, want %d", ErrUnknownQuorum, c.Quorum, c.Epoch, len(q), p.QuorumSize)
	}
	inWindow := make(map[uint32]bool)
	for i := 0; i < win.S; i++ {
		inWindow[q[win.Slot(i)]] = true
	}
	for _, i := range c.Signers.Indices() {
		if i >= registered {
			return fmt.Errorf("%w: the bitmap names signer %d; %d are registered", ErrUnknownSigner, i, registered)
		}
		if !inWindow[i] {
			return fmt.Errorf("%w: signer %d holds no slot of batch %s's window (quorum %d, epoch %d)", ErrNotInQuorum, i, c.BatchRoot, c.Quorum, c.Epoch)
		}
	}
	th := p.Threshold
	if got, total := q.SignedWeight(win, c.Signers.Has); !da.MeetsThreshold(got, total, th.Num, th.Den) {
		return &SlotsError{Root: c.BatchRoot, Signed: got, Total: total, Threshold: th}
	}
	return nil
}

// VerifyCertificateSignature checks c's aggregate signature over msg (its
// attestation message, c.Message(chain_id)) against pks, the keys of its
// bitmap signers in ascending order.
func VerifyCertificateSignature(c *da.Certificate, msg []byte, pks []*signer.PublicKey) error {
	sig, err := signer.ParseSignature(c.Signature[:])
	if err != nil {
		return fmt.Errorf("%w: aggregate signature: %v", ErrBadSignature, err)
	}
	if !signer.FastAggregateVerify(pks, msg, sig) {
		return fmt.Errorf("%w: the aggregate signature of %d signers does not verify over the attestation of batch %s (epoch %d, quorum %d)",
			ErrBadSignature, len(pks), c.BatchRoot, c.Epoch, c.Quorum)
	}
	return nil
}
