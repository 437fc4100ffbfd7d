// Package devnet starts a whole zgda network in one process (`zgda
// devnet`): a single-validator CometBFT chain, N DA nodes speaking
// libp2p on 127.0.0.1, each with its own storage, and the disperser with its
// HTTP API — all under one data directory.
//
// The first Start on an empty directory creates everything: a random devnet
// seed (keys/seed, 0600) from which every BLS key is derived, the chain's
// home and genesis (the DA nodes are its genesis signers, with equal stake),
// the nodes' homes and the disperser's store. Later Starts on the same
// directory resume: same keys, same chain, the nodes re-register their new
// addresses, and the disperser re-queues every blob it had accepted but not
// yet certified.
//
// Layout of the directory:
//
//	devnet.json   what the devnet was created with (chain id, nodes)
//	trust.json    the chain's trust root (header 1), for verifying clients
//	keys/seed     32 random bytes; key i = KeyFromSeed(SHA-256(seed ‖ label ‖ i)),
//	              and the disperser's libp2p identity (registered in genesis)
//	chain/        the validator's home
//	node0/ …      the DA nodes' homes (config/node.json, p2p/, storage/)
//	disperser/    the disperser's store (storage/meta, storage/vol0)
package devnet

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"

	"github.com/zgda/zgda/chain"
	"github.com/zgda/zgda/dispersal"
	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/engine"
	"github.com/zgda/zgda/internal/p2pkey"
	"github.com/zgda/zgda/kzg"
	"github.com/zgda/zgda/signer"
	"github.com/zgda/zgda/signer/node"
)

// ErrConfig: a bad devnet configuration, or one that does not match the
// directory's devnet.
var ErrConfig = errors.New("devnet: bad config")

// Config shapes a devnet.
type Config struct {
	// Dir holds everything; it is created if missing.
	Dir string
	// Nodes is the number of DA nodes (1 to 64); fixed when the devnet is
	// created (0 on a later Start means "as created").
	Nodes int
	// ChainID of a new devnet.
	ChainID string
	// API is the disperser's HTTP listen address (port 0: a free one).
	API string
	// RPC is the chain's CometBFT RPC listen address, for `zgda serve` and
	// other tools; empty turns it off.
	RPC string
	// EpochLength is the chain's epoch in blocks (genesis; a new devnet only).
	EpochLength uint64
	// BlockTime is the pause after each block (CometBFT timeout_commit).
	BlockTime time.Duration
	// Fast uses the test timings throughout: blocks every few tens of
	// milliseconds, fast epoch polling, short dispersal timeouts.
	Fast bool
	// Engine, if set, adjusts the disperser's configuration before start.
	Engine func(*engine.Config)
	// Params, if set, adjusts the chain's genesis parameters (a new devnet
	// only).
	Params func(*chain.Params)
	// Backend runs the disperser's extensions and Committer its row
	// commitments (nil: the CPU; see `--device`).
	Backend   encoder.Backend
	Committer engine.Committer
	// Logger receives every component's logs (default: discard).
	Logger *slog.Logger
	// PlainReads gives the DA nodes and the disperser the chain's plain
	// in-process client. By default each gets a client that verifies every
	// answer from the devnet's trust root (docs/spec.md §6 Verified reads),
	// as it would when dialing a remote RPC.
	PlainReads bool
}

// DefaultConfig is what `zgda devnet` runs: 4 nodes, the API on
// 127.0.0.1:3100, the chain RPC on 127.0.0.1:26657, quarter-second blocks,
// epochs of 100 blocks.
func DefaultConfig(dir string) Config {
	return Config{
		Dir: dir, Nodes: 4, ChainID: "zgda-devnet", API: "127.0.0.1:3100", RPC: "127.0.0.1:26657",
		EpochLength: 100, BlockTime: 250 * time.Millisecond,
	}
}

// TestConfig is for tests: free ports, no RPC, fast blocks and one long
// epoch (no epoch boundary in the middle of a test, even under -race).
func TestConfig(dir string) Config {
	c := DefaultConfig(dir)
	c.API, c.RPC, c.EpochLength, c.Fast = "127.0.0.1:0", "", 1_000_000, true
	return c
}

// ValidateBasic names a bad field.
func (c *Config) ValidateBasic() error {
	switch {
	case c.Dir == "":
		return fmt.Errorf("%w: dir is empty", ErrConfig)
	case c.Nodes < 0 || c.Nodes > 64:
		return fmt.Errorf("%w: nodes: %d, want 1 to 64", ErrConfig, c.Nodes)
	case c.ChainID == "":
		return fmt.Errorf("%w: chain_id is empty", ErrConfig)
	case c.EpochLength == 0:
		return fmt.Errorf("%w: epoch_length must be at least 1 block", ErrConfig)
	case c.BlockTime <= 0 && !c.Fast:
		return fmt.Errorf("%w: block_time must be positive", ErrConfig)
	}
	for _, a := range []struct{ name, addr string }{{"api", c.API}, {"rpc", c.RPC}} {
		if a.addr == "" && a.name == "rpc" {
			continue
		}
		if _, _, err := net.SplitHostPort(a.addr); err != nil {
			return fmt.Errorf("%w: %s address %q: %v", ErrConfig, a.name, a.addr, err)
		}
	}
	return nil
}

// state is devnet.json.
type state struct {
	Version int       `json:"version"`
	ChainID string    `json:"chain_id"`
	Nodes   int       `json:"nodes"`
	Created time.Time `json:"created"`
}

// Network is a running devnet.
type Network struct {
	cfg    Config
	log    *slog.Logger
	chain  *chain.Node
	nodes  []*node.Node
	disp   *dispersal.Dispatcher
	engine *engine.Engine
	resume bool
	seed   []byte // the devnet key seed (keys/seed)

	trust     *chain.TrustRoot // read from TrustFile once the chain runs
	clientsMu sync.Mutex
	clients   []chain.Client // verifying clients handed out, closed last

	closeOnce sync.Once
	closeErr  error
	stopping  atomic.Bool
}

// stoppingHandler drops records once stopping is set.
type stoppingHandler struct {
	slog.Handler
	stopping *atomic.Bool
}

func (h *stoppingHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return !h.stopping.Load() && h.Handler.Enabled(ctx, l)
}

func (h *stoppingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &stoppingHandler{Handler: h.Handler.WithAttrs(as), stopping: h.stopping}
}

func (h *stoppingHandler) WithGroup(g string) slog.Handler {
	return &stoppingHandler{Handler: h.Handler.WithGroup(g), stopping: h.stopping}
}

// Start creates (or resumes) the devnet in cfg.Dir and starts it. ctx
// bounds the start only. On error everything started is stopped again.
func Start(ctx context.Context, cfg Config) (_ *Network, err error) {
	if cfg.ChainID == "" {
		cfg.ChainID = DefaultConfig("").ChainID
	}
	if err := cfg.ValidateBasic(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	n := &Network{cfg: cfg, log: cfg.Logger}
	defer func() {
		if err != nil {
			n.Close()
		}
	}()
	st, seed, err := n.prepare()
	if err != nil {
		return nil, err
	}
	n.cfg.Nodes, n.cfg.ChainID, n.seed = st.Nodes, st.ChainID, seed

	// Warm the KZG tables while the chain starts: every component uses them.
	warm := make(chan error, 1)
	go func() { warm <- kzg.Default().Warm() }()

	if err := n.startChain(ctx); err != nil {
		return nil, err
	}
	if err := n.startNodes(ctx, seed); err != nil {
		return nil, err
	}
	if err := <-warm; err != nil {
		return nil, fmt.Errorf("devnet: kzg tables: %w", err)
	}
	if err := n.startEngine(ctx, disperserIdentity(seed)); err != nil {
		return nil, err
	}
	n.log.Info("devnet running", "dir", cfg.Dir, "nodes", len(n.nodes), "api", n.URL(),
		"chain_rpc", n.RPCAddress(), "resumed", n.resume)
	return n, nil
}

// prepare creates the directory's devnet on first use, or checks that cfg
// matches the one there. It returns the state and the key seed.
func (n *Network) prepare() (*state, []byte, error) {
	c := n.cfg
	statePath := filepath.Join(c.Dir, "devnet.json")
	seedPath := filepath.Join(c.Dir, "keys", "seed")
	if raw, err := os.ReadFile(statePath); err == nil {
		var st state
		if err := json.Unmarshal(raw, &st); err != nil {
			return nil, nil, fmt.Errorf("%w: %s: %v", ErrConfig, statePath, err)
		}
		if c.Nodes != 0 && c.Nodes != st.Nodes {
			return nil, nil, fmt.Errorf("%w: %s was created with %d nodes, not %d: use another directory for a different network",
				ErrConfig, c.Dir, st.Nodes, c.Nodes)
		}
		seed, err := os.ReadFile(seedPath)
		if err != nil || len(seed) != 32 {
			return nil, nil, fmt.Errorf("%w: %s: the devnet's key seed is missing or damaged (%v)", ErrConfig, seedPath, err)
		}
		n.resume = true
		return &st, seed, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, nil, fmt.Errorf("devnet: %w", err)
	}
	if c.Nodes == 0 {
		c.Nodes = DefaultConfig("").Nodes
	}
	if entries, err := os.ReadDir(c.Dir); err == nil && len(entries) > 0 {
		return nil, nil, fmt.Errorf("%w: %s is not empty and holds no devnet.json: pick an empty or new directory", ErrConfig, c.Dir)
	}
	if err := os.MkdirAll(filepath.Join(c.Dir, "keys"), 0o700); err != nil {
		return nil, nil, fmt.Errorf("devnet: %w", err)
	}
	seed := make([]byte, 32)
	if _, err := rand.Read(seed); err != nil {
		return nil, nil, err
	}
	if err := writeFileSync(seedPath, seed, 0o600); err != nil {
		return nil, nil, err
	}
	st := &state{Version: 1, ChainID: c.ChainID, Nodes: c.Nodes, Created: time.Now().UTC()}

	// Genesis: the DA nodes are the signers, with equal stake adding up to
	// about one quorum's worth of ballots; the registrar may add more. The
	// quorum size M stays the default (1024 ≥ da.MaxDispersedRows, so every
	// batch fits one quorum) and so does min_batch_slots W (docs/spec.md
	// §4.2): the disperser cuts batches at ceil(W/4) rows.
	p := chain.DefaultParams()
	p.EpochLength = c.EpochLength
	if c.Params != nil {
		c.Params(&p)
	}
	g := &chain.GenesisState{Params: p}
	reg, err := deriveKey(seed, "registrar", 0)
	if err != nil {
		return nil, nil, err
	}
	pk := reg.PublicKey().Bytes()
	g.Registrar = &pk
	stake := max(uint64(p.QuorumSize)/uint64(c.Nodes), 1)
	for i := 0; i < c.Nodes; i++ {
		k, err := deriveKey(seed, "node", i)
		if err != nil {
			return nil, nil, err
		}
		// Placeholder address: each node registers its real ones on start.
		g.Signers = append(g.Signers, chain.NewGenesisSigner(c.ChainID, k, stake, []string{"/ip4/127.0.0.1/tcp/1"}))
	}
	// The disperser, registered with a quota no devnet load reaches.
	g.Dispersers = []chain.GenesisDisperser{{PubKey: p2pkey.PublicKey(disperserIdentity(seed)), Quota: DisperserQuota}}
	if err := chain.InitHome(n.chainHome(), chain.InitOptions{ChainID: c.ChainID, Genesis: g, Config: n.chainConfig(0)}); err != nil {
		return nil, nil, fmt.Errorf("devnet: chain home: %w", err)
	}
	for i := 0; i < c.Nodes; i++ {
		cfg := n.nodeConfig(i)
		for _, v := range cfg.VolumePaths() {
			if err := os.MkdirAll(v, 0o700); err != nil {
				return nil, nil, fmt.Errorf("devnet: %w", err)
			}
		}
		if err := node.WriteConfig(cfg.Home, cfg); err != nil {
			return nil, nil, fmt.Errorf("devnet: node %d config: %w", i, err)
		}
	}
	for _, v := range n.engineConfig().Storage.Volumes {
		if err := os.MkdirAll(v, 0o700); err != nil {
			return nil, nil, fmt.Errorf("devnet: %w", err)
		}
	}
	raw, _ := json.MarshalIndent(st, "", "  ")
	// Written last: a directory without it was never fully created.
	if err := writeFileSync(statePath, append(raw, '\n'), 0o600); err != nil {
		return nil, nil, err
	}
	return st, seed, nil
}

func (n *Network) chainHome() string               { return filepath.Join(n.cfg.Dir, "chain") }
func (n *Network) nodeHome(i int) string           { return filepath.Join(n.cfg.Dir, "node"+strconv.Itoa(i)) }
func (n *Network) engineHome() string              { return filepath.Join(n.cfg.Dir, "disperser") }
func (n *Network) component(s string) *slog.Logger { return n.log.With("component", s) }

// chainConfig is the validator's configuration, with a fresh P2P port on
// every start (a single validator has no peers to find it).
func (n *Network) chainConfig(p2pPort int) *chain.Config {
	c := chain.DefaultConfig()
	if n.cfg.Fast {
		c = chain.TestConfig()
	} else {
		c.Consensus.TimeoutCommit = chain.Duration(n.cfg.BlockTime)
	}
	c.Node.Moniker = "zgda-devnet"
	c.Node.LogLevel = "error"
	c.P2P.Listen = net.JoinHostPort("127.0.0.1", strconv.Itoa(max(p2pPort, 1)))
	c.RPC.Listen = n.cfg.RPC
	return c
}

func (n *Network) startChain(ctx context.Context) error {
	ports, err := chain.FreePorts(1)
	if err != nil {
		return fmt.Errorf("devnet: %w", err)
	}
	// CometBFT logs its listeners' closing as errors; once Close has begun
	// those are expected, so the chain's records stop there.
	quiet := slog.New(&stoppingHandler{Handler: n.component("chain").Handler(), stopping: &n.stopping})
	cn, err := chain.StartNode(ctx, n.chainHome(), chain.WithConfig(n.chainConfig(ports[0])),
		chain.WithLogger(quiet))
	if err != nil {
		if n.cfg.RPC != "" {
			return fmt.Errorf("devnet: chain (RPC on %s; pass another address if it is taken): %w", n.cfg.RPC, err)
		}
		return fmt.Errorf("devnet: chain: %w", err)
	}
	n.chain = cn
	if err := cn.Client().WaitForHeight(ctx, 1); err != nil {
		return err
	}
	// The trust root clients verify the devnet's chain from.
	if err := cn.WriteTrustFile(n.TrustFile()); err != nil {
		return fmt.Errorf("devnet: %w", err)
	}
	if n.trust, err = chain.ReadTrustRoot(n.TrustFile()); err != nil {
		return fmt.Errorf("devnet: %w", err)
	}
	return nil
}

// chainClient is the chain client of a component started in this process:
// one that verifies every answer from the trust root, unless PlainReads.
func (n *Network) chainClient(ctx context.Context) (chain.Client, error) {
	if n.cfg.PlainReads {
		return n.chain.Client(), nil
	}
	c, err := n.chain.VerifiedClient(ctx, *n.trust)
	if err != nil {
		return nil, fmt.Errorf("devnet: the chain does not verify from the trust root in %s (a file left from another chain? remove it to have it written anew, or use --plain-reads): %w", n.TrustFile(), err)
	}
	n.clientsMu.Lock()
	n.clients = append(n.clients, c)
	n.clientsMu.Unlock()
	return c, nil
}

// nodeConfig is DA node i's configuration.
func (n *Network) nodeConfig(i int) *node.Config {
	home := n.nodeHome(i)
	c := node.DefaultConfig(home)
	if n.cfg.Fast {
		c = node.TestConfig(home)
	}
	c.Chain.RPC = ""
	c.Key = node.KeyConfig{} // keys come from the devnet seed
	return c
}

func (n *Network) startNodes(ctx context.Context, seed []byte) error {
	n.nodes = make([]*node.Node, n.cfg.Nodes)
	errs := make([]error, n.cfg.Nodes)
	var wg sync.WaitGroup
	for i := 0; i < n.cfg.Nodes; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := deriveKey(seed, "node", i)
			if err != nil {
				errs[i] = err
				return
			}
			cc, err := n.chainClient(ctx)
			if err != nil {
				errs[i] = err
				return
			}
			n.nodes[i], errs[i] = node.Start(ctx, n.nodeConfig(i), k, node.WithClient(cc),
				node.WithLogger(n.component("node"+strconv.Itoa(i))))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return fmt.Errorf("devnet: DA node %d: %w", i, err)
		}
	}
	return nil
}

func (n *Network) engineConfig() engine.Config {
	c := engine.DefaultConfig(n.engineHome())
	if n.cfg.Fast {
		c = engine.TestConfig(n.engineHome())
	}
	c.API.Listen = n.cfg.API
	if n.cfg.Engine != nil {
		n.cfg.Engine(&c)
	}
	return c
}

func (n *Network) startEngine(ctx context.Context, id crypto.PrivKey) error {
	dcfg := dispersal.DefaultConfig()
	if n.cfg.Fast {
		dcfg = dispersal.TestConfig()
	}
	cc, err := n.chainClient(ctx)
	if err != nil {
		return err
	}
	d, err := dispersal.New(cc, dcfg, dispersal.WithIdentity(id), dispersal.WithLogger(n.component("dispersal")))
	if err != nil {
		return fmt.Errorf("devnet: dispatcher: %w", err)
	}
	n.disp = d
	opts := []engine.Option{engine.WithLogger(n.component("engine"))}
	if n.cfg.Backend != nil {
		ecfg := n.engineConfig()
		enc, err := encoder.New(encoder.WithBackend(n.cfg.Backend), encoder.WithWorkers(ecfg.Encoder.Workers))
		if err != nil {
			return fmt.Errorf("devnet: encoder: %w", err)
		}
		opts = append(opts, engine.WithEncoder(enc))
	}
	if n.cfg.Committer != nil {
		opts = append(opts, engine.WithCommitter(n.cfg.Committer))
	}
	e, err := engine.New(n.engineConfig(), d, cc, opts...)
	if err != nil {
		return fmt.Errorf("devnet: disperser: %w", err)
	}
	if err := e.Start(ctx); err != nil {
		e.Close()
		return fmt.Errorf("devnet: disperser: %w", err)
	}
	n.engine = e
	return nil
}

// URL is the disperser API's base URL.
func (n *Network) URL() string {
	if n.engine == nil || n.engine.APIAddr() == "" {
		return ""
	}
	return "http://" + n.engine.APIAddr()
}

// RPCAddress is the chain's CometBFT RPC URL ("" when off).
func (n *Network) RPCAddress() string {
	if n.chain == nil {
		return ""
	}
	return n.chain.RPCAddress()
}

// Engine is the disperser.
func (n *Network) Engine() *engine.Engine { return n.engine }

// RegisterDisperser registers another disperser's libp2p key with quota
// bytes per epoch, signed by the devnet's registrar (so that a `zgda serve`
// beside the devnet can disperse to its nodes).
func (n *Network) RegisterDisperser(ctx context.Context, key chain.DisperserKey, quota uint64) error {
	reg, err := deriveKey(n.seed, "registrar", 0)
	if err != nil {
		return err
	}
	if _, _, err := chain.RegisterDisperser(ctx, n.chain.Client(), key, quota, reg); err != nil {
		return fmt.Errorf("devnet: registering disperser %s: %w", key, err)
	}
	return nil
}

// TrustFile is the devnet chain's trust root (chain.TrustFile in the data
// directory): `zgda verify` and `zgda sample --trust` verify from it.
func (n *Network) TrustFile() string { return filepath.Join(n.cfg.Dir, chain.TrustFile) }

// RestartNode stops DA node i and starts it again on the same home; with
// wipe, its storage is emptied first, as if its disk had been replaced (it
// keeps its keys and registration, and has lost every row).
func (n *Network) RestartNode(ctx context.Context, i int, wipe bool) error {
	if i < 0 || i >= len(n.nodes) {
		return fmt.Errorf("devnet: no DA node %d", i)
	}
	if err := n.nodes[i].Close(); err != nil {
		return fmt.Errorf("devnet: stopping DA node %d: %w", i, err)
	}
	cfg := n.nodeConfig(i)
	if wipe {
		dirs := append([]string{filepath.Join(cfg.Home, cfg.Storage.Meta)}, cfg.VolumePaths()...)
		for _, d := range dirs {
			if err := os.RemoveAll(d); err != nil {
				return fmt.Errorf("devnet: wiping DA node %d: %w", i, err)
			}
		}
		for _, v := range cfg.VolumePaths() {
			if err := os.MkdirAll(v, 0o700); err != nil {
				return fmt.Errorf("devnet: %w", err)
			}
		}
	}
	k, err := deriveKey(n.seed, "node", i)
	if err != nil {
		return err
	}
	cc, err := n.chainClient(ctx)
	if err != nil {
		return err
	}
	nd, err := node.Start(ctx, cfg, k, node.WithClient(cc), node.WithLogger(n.component("node"+strconv.Itoa(i))))
	if err != nil {
		return fmt.Errorf("devnet: restarting DA node %d: %w", i, err)
	}
	n.nodes[i] = nd
	return nil
}

// Dispatcher is the disperser's Dispatcher: it dials DA nodes as the
// devnet's registered disperser.
func (n *Network) Dispatcher() *dispersal.Dispatcher { return n.disp }

// Chain is the validator.
func (n *Network) Chain() *chain.Node { return n.chain }

// Nodes are the DA nodes, by signer index.
func (n *Network) Nodes() []*node.Node { return n.nodes }

// Dir is the data directory.
func (n *Network) Dir() string { return n.cfg.Dir }

// Resumed reports whether Start found an existing devnet.
func (n *Network) Resumed() bool { return n.resume }

// Close stops the disperser, the dispatcher, the DA nodes and the chain, in
// that order. Blobs in flight stay persisted for the next Start.
func (n *Network) Close() error {
	n.closeOnce.Do(func() {
		var errs []error
		n.stopping.Store(true)
		if n.engine != nil {
			errs = append(errs, n.engine.Close())
		}
		if n.disp != nil {
			errs = append(errs, n.disp.Close())
		}
		for _, nd := range n.nodes {
			if nd != nil {
				errs = append(errs, nd.Close())
			}
		}
		for _, c := range n.clients {
			errs = append(errs, c.Close())
		}
		if n.chain != nil {
			errs = append(errs, n.chain.Stop())
		}
		n.closeErr = errors.Join(errs...)
	})
	return n.closeErr
}

// deriveKey derives the BLS key of a devnet role from the seed.
// DisperserQuota is the devnet disperser's quota: 1 TiB of data rows per
// epoch.
const DisperserQuota = 1 << 40

// disperserIdentity is the devnet disperser's libp2p identity, the one its
// genesis registers (docs/spec.md §5 Dispersers).
func disperserIdentity(seed []byte) crypto.PrivKey {
	return p2pkey.FromSeed(seed, "zgda/devnet/disperser")
}

func deriveKey(seed []byte, label string, i int) (*signer.Key, error) {
	h := sha256.New()
	h.Write(seed)
	h.Write([]byte("zgda/devnet/" + label))
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(i))
	h.Write(b[:])
	return signer.KeyFromSeed(h.Sum(nil))
}

func writeFileSync(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return fmt.Errorf("devnet: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("devnet: writing %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("devnet: syncing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("devnet: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("devnet: %w", err)
	}
	d, err := os.Open(filepath.Dir(path))
	if err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
