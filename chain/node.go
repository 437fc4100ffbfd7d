package chain

import (
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	cmtcfg "github.com/cometbft/cometbft/config"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	cmtlog "github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/light/provider"
	lightprovider "github.com/cometbft/cometbft/light/provider/http"
	nm "github.com/cometbft/cometbft/node"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/proxy"
	rpcclient "github.com/cometbft/cometbft/rpc/client"
	"github.com/cometbft/cometbft/rpc/client/local"
	"github.com/cometbft/cometbft/types"
)

// Node is a CometBFT validator running the zgda App in this process, with a
// real block store under its home. Stop it to release the home.
type Node struct {
	home    string
	cfg     *Config
	genesis *types.GenesisDoc
	app     *App
	cmt     *nm.Node
	client  *cometClient
	log     *slog.Logger

	dbsMu sync.Mutex
	dbs   []*guardedDB

	started  time.Time
	stopOnce sync.Once
	stopErr  error
}

// NodeOption adjusts StartNode.
type NodeOption func(*nodeOptions)

type nodeOptions struct {
	logger *slog.Logger
	config *Config
}

// WithLogger sends the node's logs (CometBFT's and the app's) to l instead
// of stderr at the configured node.log_level.
func WithLogger(l *slog.Logger) NodeOption { return func(o *nodeOptions) { o.logger = l } }

// WithConfig uses c instead of the home's config/chain.json.
func WithConfig(c *Config) NodeOption { return func(o *nodeOptions) { o.config = c } }

// StartNode starts the validator whose home is home (see InitHome and
// InitNetwork). Its genesis and config are validated first, and an error
// names the file and field at fault. ctx bounds the start only.
func StartNode(ctx context.Context, home string, opts ...NodeOption) (*Node, error) {
	var o nodeOptions
	for _, f := range opts {
		f(&o)
	}
	cfg := o.config
	if cfg == nil {
		var err error
		if cfg, err = LoadConfig(home); err != nil {
			return nil, err
		}
	} else if err := cfg.ValidateBasic(); err != nil {
		return nil, err
	}
	doc, err := loadGenesis(home)
	if err != nil {
		return nil, err
	}
	logger := o.logger
	if logger == nil {
		logger = newLevelLogger(cfg.Node.LogLevel)
	}
	pv, err := loadPrivValidator(home)
	if err != nil {
		return nil, err
	}
	nodeKey, err := p2p.LoadNodeKey(filepath.Join(home, nodeKeyFile))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrConfig, filepath.Join(home, nodeKeyFile), err)
	}
	app, err := NewApp(filepath.Join(home, appStateDir), doc.ChainID, logger.With("module", "zgda"))
	if err != nil {
		return nil, err
	}
	n := &Node{home: home, cfg: cfg, genesis: doc, app: app, log: logger}
	cc := cfg.comet(home)
	dbProvider := func(c *cmtcfg.DBContext) (dbm.DB, error) {
		db, err := cmtcfg.DefaultDBProvider(c)
		if err != nil {
			return nil, err
		}
		w := &guardedDB{db: db}
		n.dbsMu.Lock()
		n.dbs = append(n.dbs, w)
		n.dbsMu.Unlock()
		return w, nil
	}
	cmt, err := nm.NewNode(ctx, cc, pv, nodeKey, proxy.NewUnsyncLocalClientCreator(app),
		nm.DefaultGenesisDocProviderFunc(cc), dbProvider, nm.DefaultMetricsProvider(cc.Instrumentation),
		&cometLogger{logger.With("module", "cometbft")})
	if err != nil {
		n.closeDBs()
		app.Close()
		return nil, fmt.Errorf("chain: starting node in %s: %w", home, err)
	}
	n.cmt = cmt
	if err := cmt.Start(); err != nil {
		n.closeDBs()
		app.Close()
		return nil, fmt.Errorf("chain: starting node in %s: %w", home, err)
	}
	n.started = time.Now()
	n.client = newCometClient(local.New(cmt), app, doc.ChainID)
	logger.Info("chain node started", "home", home, "chain_id", doc.ChainID, "node_id", nodeKey.ID(),
		"p2p", cfg.P2P.Listen, "rpc", cfg.RPC.Listen, "height", app.Height())
	return n, nil
}

// Stop stops consensus, closes every database and the app state. It is
// safe to call more than once.
func (n *Node) Stop() error {
	n.stopOnce.Do(func() {
		// CometBFT v1.0.1 dials persistent peers up to 3 s after start; a
		// dial that completes after the switch stopped leaves an open
		// connection behind (Switch.addPeer returns nil without closing
		// it), and the peer then refuses this node's next start in the
		// same process as a duplicate. Let those dials happen first.
		if len(n.cfg.P2P.PersistentPeers) > 0 {
			time.Sleep(time.Until(n.started.Add(3500 * time.Millisecond)))
		}
		if err := n.cmt.Stop(); err != nil {
			n.stopErr = err
		}
		n.cmt.Wait()
		n.closeDBs()
		if err := n.app.Close(); err != nil && n.stopErr == nil {
			n.stopErr = err
		}
	})
	return n.stopErr
}

func (n *Node) closeDBs() {
	n.dbsMu.Lock()
	defer n.dbsMu.Unlock()
	for _, d := range n.dbs {
		d.Close()
	}
}

// Client returns the in-process client (no network; inclusion is signalled
// by the app itself).
func (n *Node) Client() Client { return n.client }

// VerifiedClient is an in-process client that verifies every answer as
// DialVerified's does: headers with the light client from root, queries by
// their proofs against verified app hashes (docs/spec.md §6 Verified
// reads). It goes through the node's RPC routes without a network, so
// components started beside the chain (the devnet's) run the same checks
// as those that dial a remote RPC.
func (n *Node) VerifiedClient(ctx context.Context, root TrustRoot) (Client, error) {
	if err := root.Validate(); err != nil {
		return nil, err
	}
	if root.ChainID != n.genesis.ChainID {
		return nil, fmt.Errorf("%w: this node runs chain %q, the trust root is of %q", ErrVerification, n.genesis.ChainID, root.ChainID)
	}
	p := lightprovider.NewWithClient(root.ChainID, inProcessRPC{n.client.rpc})
	return newVerifiedClient(ctx, n.client, root, p, []provider.Provider{p})
}

// inProcessRPC names the node's own RPC routes for the light client's
// provider, which wants a remote address to show in its errors.
type inProcessRPC struct{ rpcclient.Client }

func (inProcessRPC) Remote() string { return "in-process" }

// App is the node's application.
func (n *Node) App() *App { return n.app }

// Home is the node's home directory.
func (n *Node) Home() string { return n.home }

// ChainID is the chain's id.
func (n *Node) ChainID() string { return n.genesis.ChainID }

// Height is the last committed height.
func (n *Node) Height() int64 { return n.app.Height() }

// NodeID is the p2p node id.
func (n *Node) NodeID() string { return string(n.cmt.NodeInfo().ID()) }

// RPCAddress is the URL for Dial, or "" when the RPC server is off.
func (n *Node) RPCAddress() string {
	if n.cfg.RPC.Listen == "" {
		return ""
	}
	return "http://" + n.cfg.RPC.Listen
}

// IsRunning reports whether consensus is running.
func (n *Node) IsRunning() bool { return n.cmt.IsRunning() }

// comet maps Config onto CometBFT's configuration.
func (c *Config) comet(home string) *cmtcfg.Config {
	cc := cmtcfg.DefaultConfig()
	cc.SetRoot(home)
	cc.Moniker = c.Node.Moniker
	cc.P2P.ListenAddress = "tcp://" + c.P2P.Listen
	cc.P2P.ExternalAddress = c.P2P.ExternalAddress
	cc.P2P.PersistentPeers = strings.Join(c.P2P.PersistentPeers, ",")
	cc.P2P.AllowDuplicateIP = c.P2P.AllowDuplicateIP
	cc.P2P.AddrBookStrict = c.P2P.AddrBookStrict
	cc.P2P.PexReactor = len(c.P2P.PersistentPeers) > 0
	cc.RPC.ListenAddress = ""
	if c.RPC.Listen != "" {
		cc.RPC.ListenAddress = "tcp://" + c.RPC.Listen
	}
	cc.GRPC.ListenAddress = ""
	cc.Consensus.TimeoutPropose = time.Duration(c.Consensus.TimeoutPropose)
	cc.Consensus.TimeoutPrevote = time.Duration(c.Consensus.TimeoutPrevote)
	cc.Consensus.TimeoutPrecommit = time.Duration(c.Consensus.TimeoutPrecommit)
	cc.Consensus.TimeoutCommit = time.Duration(c.Consensus.TimeoutCommit)
	cc.Consensus.CreateEmptyBlocks = c.Consensus.CreateEmptyBlocks
	cc.Consensus.PeerGossipSleepDuration = time.Duration(c.Consensus.PeerGossipSleep)
	cc.Mempool.Size = c.Mempool.Size
	cc.Mempool.MaxTxBytes = c.Mempool.MaxTxBytes
	cc.Mempool.CacheSize = c.Mempool.CacheSize
	cc.TxIndex.Indexer = "kv"
	cc.Instrumentation.Prometheus = false
	return cc
}

// loadGenesis reads and checks home's genesis, app_state included.
func loadGenesis(home string) (*types.GenesisDoc, error) {
	path := filepath.Join(home, GenesisFile)
	doc, err := types.GenesisDocFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrGenesis, path, err)
	}
	if err := validChainID(doc.ChainID); err != nil {
		return nil, fmt.Errorf("%s: chain_id: %w", path, err)
	}
	g, err := ParseGenesisState(doc.AppState)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := g.Validate(doc.ChainID); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return doc, nil
}

// loadPrivValidator reads the validator key and its last-sign state,
// returning errors where privval.LoadFilePV would exit the process.
func loadPrivValidator(home string) (*privval.FilePV, error) {
	keyPath, statePath := filepath.Join(home, privValKeyFile), filepath.Join(home, privValStateFile)
	kb, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("%w: validator key: %v", ErrConfig, err)
	}
	var key privval.FilePVKey
	if err := cmtjson.Unmarshal(kb, &key); err != nil || key.PrivKey == nil {
		return nil, fmt.Errorf("%w: %s: not a validator key: %v", ErrConfig, keyPath, err)
	}
	pv := privval.NewFilePV(key.PrivKey, keyPath, statePath)
	sb, err := os.ReadFile(statePath)
	if err != nil {
		return nil, fmt.Errorf("%w: validator state: %v", ErrConfig, err)
	}
	var st privval.FilePVLastSignState
	if err := cmtjson.Unmarshal(sb, &st); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrConfig, statePath, err)
	}
	pv.LastSignState.Height, pv.LastSignState.Round, pv.LastSignState.Step = st.Height, st.Round, st.Step
	pv.LastSignState.Signature, pv.LastSignState.SignBytes = st.Signature, st.SignBytes
	return pv, nil
}

// cometLogger adapts slog to CometBFT's logger.
type cometLogger struct{ l *slog.Logger }

func (c *cometLogger) Debug(msg string, kv ...any) { c.l.Debug(msg, kv...) }
func (c *cometLogger) Info(msg string, kv ...any)  { c.l.Info(msg, kv...) }
func (c *cometLogger) Error(msg string, kv ...any) { c.l.Error(msg, kv...) }
func (c *cometLogger) With(kv ...any) cmtlog.Logger {
	return &cometLogger{c.l.With(kv...)}
}

func newLevelLogger(level string) *slog.Logger {
	var l slog.Level
	switch level {
	case "none":
		return slog.New(slog.DiscardHandler)
	case "debug":
		l = slog.LevelDebug
	case "warn":
		l = slog.LevelWarn
	case "error":
		l = slog.LevelError
	default:
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

// TrustRoot is a trust root at the node's header of height h (committed
// already), for the trust file a chain's operator hands to clients
// (docs/spec.md §6 Verified reads).
func (n *Node) TrustRoot(h int64) (*TrustRoot, error) {
	meta := n.cmt.BlockStore().LoadBlockMeta(h)
	if meta == nil {
		return nil, fmt.Errorf("%w: no block %d yet", ErrNotFound, h)
	}
	return &TrustRoot{ChainID: n.genesis.ChainID, Height: h, Hash: hex.EncodeToString(meta.Header.Hash())}, nil
}

// WriteTrustFile writes the trust root of height 1 to path unless a file is
// there already (a chain's first header never changes).
func (n *Node) WriteTrustFile(path string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	r, err := n.TrustRoot(1)
	if err != nil {
		return err
	}
	return WriteTrustRoot(path, r)
}
