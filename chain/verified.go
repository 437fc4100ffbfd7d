package chain

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	cmtcrypto "github.com/cometbft/cometbft/api/cometbft/crypto/v1"
	cmtlog "github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/light"
	"github.com/cometbft/cometbft/light/provider"
	lightprovider "github.com/cometbft/cometbft/light/provider/http"
	lightstore "github.com/cometbft/cometbft/light/store/db"
	rpcclient "github.com/cometbft/cometbft/rpc/client"
	"github.com/cometbft/cometbft/types"
	ics23 "github.com/cosmos/ics23/go"
)

// ErrVerification: what the RPC answered does not verify against a header
// the light client verified (a bad proof, an answer that is not the proven
// one, a header that does not chain to the trust root, another chain).
var ErrVerification = errors.New("chain: chain data failed verification")

// TrustRoot is what a verifying client trusts before it has seen anything:
// the chain's id and one header of it (docs/spec.md §6 Verified reads).
type TrustRoot struct {
	ChainID string `json:"chain_id"`
	Height  int64  `json:"height"`
	// Hash is the hex hash of the header at Height.
	Hash string `json:"hash"`
	// TrustingPeriod bounds how old the trusted header may be (CometBFT's
	// light client refuses to start from an older one); default 14 days.
	TrustingPeriod Duration `json:"trusting_period,omitzero"`
}

// TrustFile is where `zgda chain start` and `zgda devnet` write the trust
// root of their chain (in the chain home's config directory and the devnet
// directory).
const TrustFile = "trust.json"

// DefaultTrustingPeriod is the trusting period of a TrustRoot that sets none.
const DefaultTrustingPeriod = 14 * 24 * time.Hour

// Validate checks the fields; the error names the one at fault.
func (r *TrustRoot) Validate() error {
	switch {
	case r.ChainID == "":
		return fmt.Errorf("trust root: chain_id: empty")
	case r.Height < 1:
		return fmt.Errorf("trust root: height %d: want 1 or more", r.Height)
	}
	if b, err := hex.DecodeString(r.Hash); err != nil || len(b) != 32 {
		return fmt.Errorf("trust root: hash %q: want 64 hex digits (a block hash)", r.Hash)
	}
	return nil
}

// ReadTrustRoot reads a trust file.
func ReadTrustRoot(path string) (*TrustRoot, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("chain: trust root: %w", err)
	}
	var r TrustRoot
	if err := strictJSON(b, &r); err != nil {
		return nil, fmt.Errorf("chain: trust root %s: %v", path, err)
	}
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("chain: %s: %w", path, err)
	}
	return &r, nil
}

// WriteTrustRoot writes r to path (atomically, mode 0644: it is public).
func WriteTrustRoot(path string, r *TrustRoot) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("chain: writing the trust root: %w", err)
	}
	return os.Rename(tmp, path)
}

// TrustRootAt reads the header of height h from a node's RPC and makes it a
// trust root. Only a chain's operator should do this (for the trust file it
// hands out): it trusts that RPC.
func TrustRootAt(ctx context.Context, rpcAddr string, h int64) (*TrustRoot, error) {
	c, err := Dial(ctx, rpcAddr)
	if err != nil {
		return nil, err
	}
	cc := c.(*cometClient)
	res, err := cc.rpc.Commit(ctx, &h)
	if err != nil {
		return nil, fmt.Errorf("chain: header %d: %w", h, err)
	}
	return &TrustRoot{ChainID: cc.chainID, Height: h, Hash: hex.EncodeToString(res.Header.Hash())}, nil
}

// verifiedClient is a Client that checks every answer it returns: headers
// with CometBFT's light client from a trust root, and every query's ICS-23
// proofs against the app hash of a verified header. The chain id is the
// trust root's, never the RPC's.
type verifiedClient struct {
	queries // over query: every answer checked
	inner   *cometClient
	lc      *light.Client
	root    TrustRoot

	mu     sync.Mutex
	app    *App // params and initial height, proven once; no state
	latest *types.LightBlock
}

var _ Client = (*verifiedClient)(nil)

// DialVerified connects to a node's RPC and verifies everything it is told
// against root (docs/spec.md §6 Verified reads). witnesses are further RPCs
// the light client cross-checks headers with (the primary itself when none
// is given). A chain id other than root's is refused.
func DialVerified(ctx context.Context, addr string, root TrustRoot, witnesses ...string) (Client, error) {
	if err := root.Validate(); err != nil {
		return nil, err
	}
	c, err := Dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	inner := c.(*cometClient)
	if inner.chainID != root.ChainID {
		return nil, fmt.Errorf("%w: %s serves chain %q, the trust root is of %q", ErrVerification, addr, inner.chainID, root.ChainID)
	}
	addr = normalizeRPC(addr)
	if len(witnesses) == 0 {
		witnesses = []string{addr}
	}
	primary, err := lightprovider.New(root.ChainID, addr)
	if err != nil {
		return nil, fmt.Errorf("chain: light client provider %s: %w", addr, err)
	}
	witnessProviders := make([]provider.Provider, 0, len(witnesses))
	for _, w := range witnesses {
		p, err := lightprovider.New(root.ChainID, normalizeRPC(w))
		if err != nil {
			return nil, fmt.Errorf("chain: light client witness %s: %w", w, err)
		}
		witnessProviders = append(witnessProviders, p)
	}
	return newVerifiedClient(ctx, inner, root, primary, witnessProviders)
}

// newVerifiedClient starts the light client from root over primary and
// witnesses and proves the chain's params, for reads through inner.
func newVerifiedClient(ctx context.Context, inner *cometClient, root TrustRoot, primary provider.Provider, witnesses []provider.Provider) (Client, error) {
	hash, _ := hex.DecodeString(root.Hash)
	period := time.Duration(root.TrustingPeriod)
	if period == 0 {
		period = DefaultTrustingPeriod
	}
	lc, err := light.NewClient(ctx, root.ChainID,
		light.TrustOptions{Period: period, Height: root.Height, Hash: hash},
		primary, witnesses, lightstore.New(dbm.NewMemDB(), ""),
		light.Logger(cmtlog.NewNopLogger()), light.MaxRetryAttempts(3))
	if err != nil {
		return nil, fmt.Errorf("%w: starting the light client from height %d: %v", ErrVerification, root.Height, err)
	}
	v := &verifiedClient{inner: inner, lc: lc, root: root}
	v.queries = queries{v.query}
	if _, err := v.params(ctx); err != nil {
		return nil, err
	}
	return v, nil
}

// normalizeRPC turns "tcp://h:p" and a bare "h:p" into an HTTP URL.
func normalizeRPC(addr string) string {
	switch {
	case strings.HasPrefix(addr, "tcp://"):
		return "http://" + strings.TrimPrefix(addr, "tcp://")
	case !strings.Contains(addr, "://"):
		return "http://" + addr
	}
	return addr
}

func (v *verifiedClient) ChainID() string { return v.root.ChainID }
func (v *verifiedClient) Close() error    { return v.lc.Cleanup() }

// Submit broadcasts as the plain client does: what it reports of the
// transaction is the RPC's word; callers read its effects back verified.
func (v *verifiedClient) Submit(ctx context.Context, tx []byte) (*TxResult, error) {
	return v.inner.Submit(ctx, tx)
}

func (v *verifiedClient) WaitForHeight(ctx context.Context, h int64) error {
	return v.inner.WaitForHeight(ctx, h)
}

// header is a verified header whose app hash covers the state the RPC
// reports as its latest (the app hash of height L is in header L + 1, so
// this waits for the next block when it is not out yet): reads are then as
// fresh as the plain client's. Its app hash is that of the height below it.
func (v *verifiedClient) header(ctx context.Context) (*types.LightBlock, error) {
	st, err := v.inner.rpc.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("chain: status: %w", err)
	}
	last := st.SyncInfo.LatestBlockHeight // the RPC's word: only a lower bound to wait for
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.latest != nil && v.latest.Height > last {
		return v.latest, nil
	}
	if err := v.inner.WaitForHeight(ctx, last+1); err != nil {
		return nil, err
	}
	lb, err := v.lc.VerifyLightBlockAtHeight(ctx, last+1, time.Now())
	if err != nil {
		return nil, fmt.Errorf("%w: header %d: %v", ErrVerification, last+1, err)
	}
	if lb.Height < 2 {
		return nil, fmt.Errorf("%w: the chain has no state to prove before height 2 (at %d)", ErrVerification, lb.Height)
	}
	v.latest = lb
	return lb, nil
}

// params are the chain's parameters and initial height, proven once (they
// are fixed for the chain's life).
func (v *verifiedClient) params(ctx context.Context) (*App, error) {
	v.mu.Lock()
	app := v.app
	v.mu.Unlock()
	if app != nil {
		return app, nil
	}
	lb, err := v.header(ctx)
	if err != nil {
		return nil, err
	}
	h := lb.Height - 1
	res, err := v.inner.rpc.ABCIQueryWithOptions(ctx, QueryParams, nil, rpcclient.ABCIQueryOptions{Height: h, Prove: true})
	if err != nil {
		return nil, fmt.Errorf("chain: query %s: %w", QueryParams, err)
	}
	proven, err := verifyProofs(res.Response.ProofOps.GetOps(), lb.AppHash)
	if err != nil {
		return nil, err
	}
	r := stateReader{view{snap: provenSnapshot{proven, lb.AppHash}, proving: true}}
	p, err := r.params()
	if err != nil {
		return nil, fmt.Errorf("%w: params: %v", ErrVerification, err)
	}
	base, err := r.u64(keyBase)
	if err != nil {
		return nil, fmt.Errorf("%w: initial height: %v", ErrVerification, err)
	}
	app = &App{chainID: v.root.ChainID, params: p, base: int64(base), ready: true}
	v.mu.Lock()
	v.app = app
	v.mu.Unlock()
	return app, nil
}

// query asks path with proofs at the height below the latest verified
// header, checks every proof against that header's app hash, computes the
// answer itself from the proven records (with the app's own query code),
// and refuses an RPC whose answer is not that one. A not-found answer is
// returned only when the proofs show the absence.
func (v *verifiedClient) query(ctx context.Context, path string, data []byte, out any) error {
	app, err := v.params(ctx)
	if err != nil {
		return err
	}
	lb, err := v.header(ctx)
	if err != nil {
		return err
	}
	h := lb.Height - 1
	res, err := v.inner.rpc.ABCIQueryWithOptions(ctx, path, data, rpcclient.ABCIQueryOptions{Height: h, Prove: true})
	if err != nil {
		return fmt.Errorf("chain: query %s: %w", path, err)
	}
	r := res.Response
	if r.Height != h {
		return fmt.Errorf("%w: query %s: answered for height %d, asked %d", ErrVerification, path, r.Height, h)
	}
	proven, err := verifyProofs(r.ProofOps.GetOps(), lb.AppHash)
	if err != nil {
		return fmt.Errorf("query %s at height %d: %w", path, h, err)
	}
	val, qerr := app.query(view{snap: provenSnapshot{proven, lb.AppHash}, proving: true}, h, path, data)
	switch {
	case errors.Is(qerr, ErrVerification):
		return fmt.Errorf("query %s at height %d: %w", path, h, qerr)
	case qerr != nil && r.Code == codeOf(qerr):
		return qerr // proven: not found (or bad input)
	case qerr != nil:
		return fmt.Errorf("%w: query %s at height %d: the RPC answered code %d, the proofs say %v", ErrVerification, path, h, r.Code, qerr)
	case r.Code != CodeOK:
		return fmt.Errorf("%w: query %s at height %d: the RPC answered code %d (%s), the proofs give an answer", ErrVerification, path, h, r.Code, r.Log)
	}
	want, err := json.Marshal(val)
	if err != nil {
		return fmt.Errorf("chain: query %s: %w", path, err)
	}
	if !bytes.Equal(want, r.Value) {
		return fmt.Errorf("%w: query %s at height %d: the RPC's answer differs from the proven records", ErrVerification, path, h)
	}
	return json.Unmarshal(want, out)
}

// verifyProofs checks each ICS-23 proof against root and returns the proven
// key → value map (nil: proven absent).
func verifyProofs(ops []cmtcrypto.ProofOp, root []byte) (map[string][]byte, error) {
	proven := map[string][]byte{}
	for i, op := range ops {
		if op.Type != ProofOpType {
			return nil, fmt.Errorf("%w: proof %d is of type %q, want %q", ErrVerification, i, op.Type, ProofOpType)
		}
		var cp ics23.CommitmentProof
		if err := cp.Unmarshal(op.Data); err != nil {
			return nil, fmt.Errorf("%w: proof %d of %q does not decode: %v", ErrVerification, i, op.Key, err)
		}
		if ex := cp.GetExist(); ex != nil {
			if !bytes.Equal(ex.Key, op.Key) || !ics23.VerifyMembership(ics23.IavlSpec, root, &cp, op.Key, ex.Value) {
				return nil, fmt.Errorf("%w: the proof of %q does not verify against app hash %X", ErrVerification, op.Key, root)
			}
			proven[string(op.Key)] = ex.Value
			continue
		}
		if !ics23.VerifyNonMembership(ics23.IavlSpec, root, &cp, op.Key) {
			return nil, fmt.Errorf("%w: the absence proof of %q does not verify against app hash %X", ErrVerification, op.Key, root)
		}
		proven[string(op.Key)] = nil
	}
	return proven, nil
}

// provenSnapshot reads only proven records: any other read is a
// verification failure (the RPC left out a proof the answer needs).
type provenSnapshot struct {
	kv   map[string][]byte
	root []byte
}

func (p provenSnapshot) get(k []byte) ([]byte, error) {
	v, ok := p.kv[string(k)]
	if !ok {
		return nil, fmt.Errorf("%w: the answer needs %q, and no proof of it came", ErrVerification, k)
	}
	return bytes.Clone(v), nil
}

func (p provenSnapshot) scan([]byte, func(k, v []byte) error) error {
	return fmt.Errorf("%w: a range of keys cannot be proven", ErrVerification)
}

func (p provenSnapshot) hash() []byte { return p.root }

// CertificatesAt verifies block h's header with the light client and its
// transactions against the header's data hash, and keeps the certificates
// whose records (proven) say block h recorded them.
func (v *verifiedClient) CertificatesAt(ctx context.Context, h int64) ([]CertificateRecord, error) {
	lb, err := v.lc.VerifyLightBlockAtHeight(ctx, h, time.Now())
	if err != nil {
		return nil, fmt.Errorf("%w: header %d: %v", ErrVerification, h, err)
	}
	b, err := v.inner.rpc.Block(ctx, &h)
	if err != nil {
		return nil, fmt.Errorf("chain: block %d: %w", h, err)
	}
	if !bytes.Equal(b.Block.Txs.Hash(), lb.DataHash) {
		return nil, fmt.Errorf("%w: block %d's transactions do not match its verified header", ErrVerification, h)
	}
	return v.recordedIn(ctx, b.Block.Txs, h)
}
