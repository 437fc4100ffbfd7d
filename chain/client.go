package chain

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/cometbft/cometbft/mempool"
	rpcclient "github.com/cometbft/cometbft/rpc/client"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	"github.com/cometbft/cometbft/types"

	"github.com/zgda/zgda/da"
)

// Client submits transactions to a zgda chain and queries it. The in-process
// client (Node.Client) and the RPC client (Dial) behave the same; errors
// from the chain match the package's sentinels with errors.Is.
type Client interface {
	// ChainID is the chain's id (it goes into signed messages).
	ChainID() string
	// Submit broadcasts tx and waits until a committed block includes it.
	// A transaction refused by CheckTx or by the block returns a *TxError;
	// the result of an accepted one says where it landed.
	Submit(ctx context.Context, tx []byte) (*TxResult, error)
	// Status is the app's state at the last committed block.
	Status(ctx context.Context) (*AppStatus, error)
	// Signers lists the registry, by index.
	Signers(ctx context.Context) ([]SignerInfo, error)
	// Signer looks a signer up by key (ErrNotFound if unregistered).
	Signer(ctx context.Context, pk da.PublicKey) (*SignerInfo, error)
	// Epoch returns an epoch with its quorums (ErrNotFound if its seed is not fixed yet).
	Epoch(ctx context.Context, epoch uint64) (*EpochInfo, error)
	// CurrentEpoch returns the epoch of the last committed block.
	CurrentEpoch(ctx context.Context) (*EpochInfo, error)
	// Certificate returns the certificate recorded for a batch root.
	Certificate(ctx context.Context, batchRoot da.Hash) (*CertificateRecord, error)
	// CertificateForBlob returns the certificate record of a blob key's
	// batch (the one BlobBatch names).
	CertificateForBlob(ctx context.Context, key da.BlobKey) (*CertificateRecord, error)
	// BlobBatch returns a blob key's batch: the most recently recorded
	// batch that names it, and where in that batch the blob lies
	// (ErrNotFound for a key never certified, or whose batch has left the
	// availability window).
	BlobBatch(ctx context.Context, key da.BlobKey) (*BlobLocation, error)
	// CertificatesAt returns the certificates block h recorded, in block
	// order (none for a block without any; an error for a block not yet
	// committed). Light clients follow the chain with it.
	CertificatesAt(ctx context.Context, h int64) ([]CertificateRecord, error)
	// Disperser looks a disperser up by its ed25519 key (ErrNotFound if
	// never registered; a revoked one has quota 0).
	Disperser(ctx context.Context, key DisperserKey) (*DisperserInfo, error)
	// Challenges returns signer's proof-of-access challenges of epoch.
	Challenges(ctx context.Context, epoch uint64, signer uint32) ([]Challenge, error)
	// Scores returns the proof-of-access scores of epoch, by signer.
	Scores(ctx context.Context, epoch uint64) ([]Score, error)
	// WaitForHeight returns once a block of height h or more is committed.
	WaitForHeight(ctx context.Context, h int64) error
	// Close releases the client (not the node).
	Close() error
}

// cometClient implements Client over CometBFT's RPC interface, either the
// local one (app set: inclusion is signalled by the app) or HTTP (inclusion
// found by polling the transaction index).
type cometClient struct {
	queries // over query: the RPC's answers as they come
	rpc     rpcclient.Client
	app     *App
	chainID string
	poll    time.Duration
}

var _ Client = (*cometClient)(nil)

// Dial connects to a node's CometBFT RPC (e.g. "http://127.0.0.1:26657";
// "tcp://" and a bare host:port work too) and learns the chain id.
func Dial(ctx context.Context, addr string) (Client, error) {
	addr = normalizeRPC(addr)
	h, err := rpchttp.New(addr)
	if err != nil {
		return nil, fmt.Errorf("chain: dialing %s: %w", addr, err)
	}
	st, err := h.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("chain: dialing %s: %w", addr, err)
	}
	return newCometClient(h, nil, st.NodeInfo.Network), nil
}

func newCometClient(rpc rpcclient.Client, app *App, chainID string) *cometClient {
	c := &cometClient{rpc: rpc, app: app, chainID: chainID, poll: 20 * time.Millisecond}
	c.queries = queries{c.query}
	return c
}

func (c *cometClient) ChainID() string { return c.chainID }
func (c *cometClient) Close() error    { return nil }

func (c *cometClient) Submit(ctx context.Context, tx []byte) (*TxResult, error) {
	sum := sha256.Sum256(tx)
	var wait <-chan TxResult
	if c.app != nil {
		ch, cancel := c.app.waitTx(sum)
		defer cancel()
		wait = ch
	}
	res, err := c.broadcast(ctx, tx, sum[:])
	if err != nil {
		return nil, err
	}
	if res.Code != CodeOK {
		return nil, &TxError{Code: res.Code, Log: res.Log, Hash: sum[:]}
	}
	var r TxResult
	if wait != nil {
		select {
		case r = <-wait:
		case <-ctx.Done():
			return nil, fmt.Errorf("chain: waiting for transaction %X: %w", sum, ctx.Err())
		}
	} else {
		got, err := c.pollTx(ctx, sum[:])
		if err != nil {
			return nil, err
		}
		r = *got
	}
	return &r, r.Err()
}

// invalidTxRe reads a CheckTx refusal out of the mempool's error text (all
// that is left of it over JSON-RPC).
var invalidTxRe = regexp.MustCompile(`(?s)code=(\d+), data=[0-9A-Fa-f]*, log='(.*)', codespace='[^']*'`)

// broadcast hands tx to the mempool, retrying while the node catches up.
func (c *cometClient) broadcast(ctx context.Context, tx, hash []byte) (*ctypes.ResultBroadcastTx, error) {
	for {
		res, err := c.rpc.BroadcastTxSync(ctx, tx)
		if err == nil {
			return res, nil
		}
		var inv mempool.ErrInvalidTx
		if errors.As(err, &inv) {
			return nil, &TxError{Code: inv.Code, Log: inv.Log, Hash: hash}
		}
		msg := err.Error()
		if m := invalidTxRe.FindStringSubmatch(msg); m != nil {
			code, _ := strconv.ParseUint(m[1], 10, 32)
			return nil, &TxError{Code: uint32(code), Log: m[2], Hash: hash}
		}
		switch {
		case strings.Contains(msg, "already exists in cache"):
			return nil, fmt.Errorf("%w: transaction %X is already in the mempool or a recent block", ErrDuplicate, hash)
		case strings.Contains(msg, "tx too large"):
			return nil, fmt.Errorf("%w: %s", ErrTxTooLarge, msg)
		case !strings.Contains(msg, "catching up"):
			return nil, fmt.Errorf("chain: broadcasting: %w", err)
		}
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return nil, fmt.Errorf("chain: broadcasting while the node catches up: %w", ctx.Err())
		}
	}
}

// pollTx waits for the indexer to show the transaction.
func (c *cometClient) pollTx(ctx context.Context, hash []byte) (*TxResult, error) {
	delay := c.poll
	for {
		res, err := c.rpc.Tx(ctx, hash, false)
		if err == nil {
			return &TxResult{Hash: hex.EncodeToString(hash), Height: res.Height,
				Code: res.TxResult.Code, Log: res.TxResult.Log}, nil
		}
		if !strings.Contains(err.Error(), "not found") {
			return nil, fmt.Errorf("chain: looking up transaction %X: %w", hash, err)
		}
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return nil, fmt.Errorf("chain: waiting for transaction %X: %w", hash, ctx.Err())
		}
		delay = min(2*delay, 250*time.Millisecond)
	}
}

func (c *cometClient) query(ctx context.Context, path string, data []byte, out any) error {
	res, err := c.rpc.ABCIQuery(ctx, path, data)
	if err != nil {
		return fmt.Errorf("chain: query %s: %w", path, err)
	}
	if r := res.Response; r.Code != CodeOK {
		return fmt.Errorf("%w (query %s: %s)", errOfCode(r.Code), path, r.Log)
	}
	if err := json.Unmarshal(res.Response.Value, out); err != nil {
		return fmt.Errorf("chain: query %s: %w", path, err)
	}
	return nil
}

func (c *cometClient) CertificatesAt(ctx context.Context, h int64) ([]CertificateRecord, error) {
	b, err := c.rpc.Block(ctx, &h)
	if err != nil {
		return nil, fmt.Errorf("chain: block %d: %w", h, err)
	}
	return c.recordedIn(ctx, b.Block.Txs, h)
}

// recordedIn keeps the certificates among txs that block h recorded: the
// state says whether the block took each (a refused or replayed one has no
// record of this height).
func (q queries) recordedIn(ctx context.Context, txs types.Txs, h int64) ([]CertificateRecord, error) {
	var out []CertificateRecord
	for _, raw := range txs {
		tx, err := DecodeTx(raw)
		if err != nil {
			continue // a proposer may include a tx the block then refuses
		}
		ct, ok := tx.(*CertificateTx)
		if !ok {
			continue
		}
		rec, err := q.Certificate(ctx, ct.Cert.BatchRoot)
		if IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if rec.Height == h {
			out = append(out, *rec)
		}
	}
	return out, nil
}

func (c *cometClient) WaitForHeight(ctx context.Context, h int64) error {
	for {
		var cur int64
		var next <-chan struct{}
		if c.app != nil {
			next = c.app.nextCommit()
			cur = c.app.Height()
		} else {
			st, err := c.rpc.Status(ctx)
			if err != nil {
				return fmt.Errorf("chain: status: %w", err)
			}
			cur = st.SyncInfo.LatestBlockHeight
		}
		if cur >= h {
			return nil
		}
		var tick <-chan time.Time
		if next == nil {
			tick = time.After(c.poll)
		}
		select {
		case <-next:
		case <-tick:
		case <-ctx.Done():
			return fmt.Errorf("chain: waiting for height %d (at %d): %w", h, cur, ctx.Err())
		}
	}
}

// IsNotFound reports whether err says the chain does not hold what was asked.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
