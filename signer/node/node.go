package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zgda/zgda/chain"
	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/internal/cellasks"
	"github.com/zgda/zgda/internal/flight"
	"github.com/zgda/zgda/kzg"
	"github.com/zgda/zgda/signer"
	"github.com/zgda/zgda/storage"
)

// Node is a running DA node. Close it to stop serving and release its home.
type Node struct {
	cfg     *Config
	key     *signer.Key
	log     *slog.Logger
	kzg     *kzg.Context
	client  chain.Client
	ownsCli bool
	store   *storage.Store
	// dispersers: who may disperse, and their quota use.
	dispersers *dispersers
	host       host.Host
	metrics    *metrics
	fault      fault

	chainID string
	params  chain.Params
	index   uint32
	addrs   []string

	sem      chan struct{} // dispersal requests in progress
	qsem     chan struct{} // row and cell requests in progress
	inflight atomic.Int64  // bytes held by dispersal requests
	pmu      sync.Mutex
	peers    map[peer.ID]int // dispersal streams open, by peer
	// pending counts dispersal requests past their frame header and not yet
	// answered (a test hook reads it).
	pending atomic.Int64
	// lastChecks is the number of KZG checks of the last verified dispersal
	// (a test hook reads it).
	lastChecks atomic.Int64

	mu      sync.Mutex
	epochs  map[uint64]*chain.EpochInfo // started epochs, a few recent ones
	current atomic.Uint64               // the chain's current epoch, as last seen

	// Proofs of random access (pora.go): one round at a time; the
	// challenges answered (epoch/index), touched only by that round; the
	// last epoch whose score the metrics show.
	poraBusy   atomic.Bool
	poraDone   map[poraKey]bool
	poraScored atomic.Uint64
	// poraSettled is 1 + the epoch whose challenges are all handled.
	poraSettled atomic.Uint64

	cells *flight.Cache[cellRowKey, *rowCells] // rows' cells and proofs in memory (Limits.CellCacheBytes)
	asks  cellasks.Tracker                     // cells asked of rows whose proofs are not stored
	enc   *encoder.Encoder                     // row extension, for cells

	ctx      context.Context // cancelled by Close
	cancel   context.CancelFunc
	hmu      sync.RWMutex // orders handler entry against Close
	handlers sync.WaitGroup
	loop     sync.WaitGroup
	closed   atomic.Bool
}

// Option adjusts Start (things that are not configuration).
type Option func(*options)

type options struct {
	client     chain.Client
	logger     *slog.Logger
	registerer prometheus.Registerer
	registrar  *signer.Key
	kzg        *kzg.Context
	fault      fault
}

// WithClient uses c to reach the chain instead of dialing Chain.RPC. The
// node does not close it.
func WithClient(c chain.Client) Option { return func(o *options) { o.client = c } }

// WithLogger sends the node's logs to l (default: discard).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithRegisterer exports the node's Prometheus metrics (and its store's) on r.
func WithRegisterer(r prometheus.Registerer) Option { return func(o *options) { o.registerer = r } }

// WithRegistrar lets the node register itself, with Chain.Stake, when the
// chain does not know it: registration needs the registrar's signature
// (devnets hold that key; elsewhere the registrar registers nodes).
func WithRegistrar(k *signer.Key) Option { return func(o *options) { o.registrar = k } }

// WithKZG uses c instead of kzg.Default().
func WithKZG(c *kzg.Context) Option { return func(o *options) { o.kzg = c } }

// fault makes a node misbehave; only tests can set it (export_test.go).
type fault int

const (
	faultNone         fault = iota
	faultBadSignature       // answers dispersals with a signature over the wrong message
	faultSilent             // reads dispersal requests and never answers
)

// Start opens the node's storage and identity, starts its libp2p host,
// makes sure the chain has it registered with its current addresses, and
// starts serving. ctx bounds the start only.
func Start(ctx context.Context, cfg *Config, key *signer.Key, opts ...Option) (_ *Node, err error) {
	if err := cfg.ValidateBasic(); err != nil {
		return nil, err
	}
	if key == nil {
		return nil, fmt.Errorf("%w: no BLS key", ErrConfig)
	}
	var o options
	for _, f := range opts {
		f(&o)
	}
	n := &Node{
		cfg:      cfg,
		key:      key,
		log:      o.logger,
		kzg:      o.kzg,
		client:   o.client,
		fault:    o.fault,
		sem:      make(chan struct{}, cfg.Limits.MaxConcurrent),
		qsem:     make(chan struct{}, cfg.Limits.MaxQueries),
		epochs:   make(map[uint64]*chain.EpochInfo),
		cells:    flight.New[cellRowKey](cfg.Limits.CellCacheBytes, (*rowCells).size),
		poraDone: map[poraKey]bool{},
		peers:    make(map[peer.ID]int),
	}
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
	if n.kzg == nil {
		n.kzg = kzg.Default()
	}
	if n.enc, err = encoder.New(); err != nil {
		return nil, fmt.Errorf("node: encoder: %w", err)
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	defer func() {
		if err != nil {
			n.Close()
		}
	}()
	n.metrics = newMetrics(o.registerer)

	if n.client == nil {
		if cfg.Chain.RPC == "" {
			return nil, fmt.Errorf("%w: chain.rpc: empty, and no client given", ErrConfig)
		}
		c, err := dialChain(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("node: reaching the chain at chain.rpc %s: %w", cfg.Chain.RPC, err)
		}
		n.client, n.ownsCli = c, true
	}
	n.chainID = n.client.ChainID()
	st, err := n.client.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("node: chain status: %w", err)
	}
	n.params = st.Params
	n.current.Store(st.Epoch)
	// Rows pruned inside the availability window would break the chain's
	// promise (docs/spec.md §6); the params are fixed for the chain's life,
	// so checking once, before anything is created, suffices.
	if err := cfg.Storage.ValidateWindow(st.Params); err != nil {
		return nil, err
	}

	priv, err := loadIdentity(cfg.path(cfg.P2P.IdentityFile))
	if err != nil {
		return nil, err
	}
	if err := n.openStore(o.registerer); err != nil {
		return nil, err
	}
	n.store.SetEpoch(st.Epoch)
	n.dispersers = newDispersers(n.client, n.store)

	n.host, err = newHost(priv, cfg.P2P, cfg.Limits)
	if err != nil {
		return nil, fmt.Errorf("node: libp2p host on p2p.listen %v: %w", cfg.P2P.Listen, err)
	}
	n.addrs, err = n.announceAddrs()
	if err != nil {
		return nil, err
	}
	n.serve(da.ProtocolDisperse, n.handleDisperse)
	n.serve(da.ProtocolRow, n.handleRow)
	n.serve(da.ProtocolCell, n.handleCell)

	if err := n.register(ctx, o.registrar); err != nil {
		return nil, err
	}
	n.log.Info("DA node started", "signer", n.index, "pubkey", key.PublicKey(), "peer", n.host.ID(),
		"addrs", n.addrs, "chain", n.chainID, "epoch", st.Epoch)
	n.loop.Add(1)
	go n.epochLoop()
	// The single-cell proof table (about 0.4 s) is built now, in the
	// background, so that the first sample this node answers does not pay
	// for it; the Context builds it once however many nodes share it.
	go func() {
		if err := n.kzg.WarmCellProof(); err != nil {
			n.log.Warn("building the cell proof table", "err", err)
		}
	}()
	return n, nil
}

// newHost is a libp2p host over TCP with Noise and yamux only: DA nodes and
// dispersers dial each other directly, so relays, NAT traversal and the
// other transports are left out. Its resource manager bounds connections,
// streams and buffers (newResourceManager); the node bounds the work behind
// each protocol itself (Limits).
func newHost(priv crypto.PrivKey, c P2PConfig, l LimitsConfig) (host.Host, error) {
	rm, err := newResourceManager(c, l)
	if err != nil {
		return nil, fmt.Errorf("resource manager: %w", err)
	}
	h, err := libp2p.New(
		libp2p.Identity(priv),
		libp2p.ListenAddrStrings(c.Listen...),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.DisableRelay(),
		libp2p.DisableMetrics(),
		libp2p.ResourceManager(rm),
		libp2p.Ping(false),
	)
	if err != nil {
		rm.Close()
	}
	return h, err
}

func (n *Node) openStore(reg prometheus.Registerer) error {
	sc := storage.DefaultConfig(n.cfg.Home)
	sc.Dir = n.cfg.path(n.cfg.Storage.Meta)
	sc.Volumes.Paths = n.cfg.VolumePaths()
	if k := n.cfg.Storage.EffectiveKeepEpochs(n.params); k > 0 {
		for _, p := range [][]byte{prefixRow, prefixHeader, prefixProofs, prefixQuota} {
			sc.Retention.Rules = append(sc.Retention.Rules, storage.RetentionRule{Prefix: p, KeepEpochs: k})
		}
	}
	var sopts []storage.Option
	sopts = append(sopts, storage.WithLogger(n.log.With("component", "storage")))
	if reg != nil {
		sopts = append(sopts, storage.WithRegisterer(reg))
	}
	st, err := storage.Open(sc, sopts...)
	if err != nil {
		return fmt.Errorf("node: opening storage (storage.meta %s, storage.volumes %v): %w", sc.Dir, sc.Volumes.Paths, err)
	}
	n.store = st
	return nil
}

// announceAddrs are the multiaddrs registered on the chain, each ending in
// /p2p/<peer id>.
func (n *Node) announceAddrs() ([]string, error) {
	var base []string
	if len(n.cfg.P2P.Announce) > 0 {
		base = n.cfg.P2P.Announce
	} else {
		for _, a := range n.host.Addrs() {
			base = append(base, a.String())
		}
	}
	var out []string
	for _, a := range base {
		s := a + "/p2p/" + n.host.ID().String()
		if len(s) <= chain.MaxAddrLen && len(out) < chain.MaxAddrs {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: p2p: the host has no address to announce", ErrConfig)
	}
	return out, nil
}

// register makes sure the chain has this signer with the current addresses.
// Genesis and previously registered signers only update their addresses
// when they changed (the update needs no registrar); an unknown signer is
// registered with the registrar's key, or Start fails saying what to do.
func (n *Node) register(ctx context.Context, registrar *signer.Key) error {
	pk := n.key.PublicKey().Bytes()
	info, err := n.client.Signer(ctx, pk)
	switch {
	case chain.IsNotFound(err):
		if registrar == nil {
			return fmt.Errorf("%w: %s is not registered on chain %s; have the registrar register it with addresses %v",
				ErrNotRegistered, pk, n.chainID, n.addrs)
		}
		tx, err := chain.NewRegisterTx(n.chainID, n.key, n.cfg.Chain.Stake, 1, n.addrs, registrar)
		if err != nil {
			return fmt.Errorf("node: building the registration: %w", err)
		}
		if _, err := n.client.Submit(ctx, tx); err != nil {
			return fmt.Errorf("node: registering %s: %w", pk, err)
		}
		if info, err = n.client.Signer(ctx, pk); err != nil {
			return fmt.Errorf("node: reading the registration back: %w", err)
		}
		n.log.Info("registered on the chain", "signer", info.Index, "stake", info.Stake)
	case err != nil:
		return fmt.Errorf("node: looking up signer %s: %w", pk, err)
	case !slices.Equal(info.Addrs, n.addrs):
		tx, err := chain.NewRegisterTx(n.chainID, n.key, info.Stake, info.Nonce+1, n.addrs, nil)
		if err != nil {
			return fmt.Errorf("node: building the address update: %w", err)
		}
		if _, err := n.client.Submit(ctx, tx); err != nil {
			return fmt.Errorf("node: updating the addresses of signer %d: %w", info.Index, err)
		}
		n.log.Info("addresses updated on the chain", "signer", info.Index, "addrs", n.addrs)
	}
	n.index = info.Index
	return nil
}

// epochLoop follows the chain's epochs: it tells storage the epoch (for
// retention) and submits the node's VRF output for the next epoch.
func (n *Node) epochLoop() {
	defer n.loop.Done()
	t := time.NewTicker(time.Duration(n.cfg.Chain.PollInterval))
	defer t.Stop()
	submitted := uint64(0) // the last epoch a VRF output is known to be on chain for (0: none yet)
	for {
		cur, err := n.client.CurrentEpoch(n.ctx)
		if err == nil {
			if cur.Epoch != n.current.Swap(cur.Epoch) {
				n.store.SetEpoch(cur.Epoch)
				n.log.Debug("new epoch", "epoch", cur.Epoch)
			}
			if n.params.PoRAChallenges > 0 && !n.poraBusy.Load() && n.poraSettled.Load() != cur.Epoch+1 {
				n.loop.Add(1) // the loop holds one: Close waits for this too
				go func() {
					defer n.loop.Done()
					n.poraRound(cur.Epoch)
				}()
			}
			if next := cur.Epoch + 1; submitted < next {
				err := n.submitVRF(next)
				switch {
				case errors.Is(err, chain.ErrRegisteredAfterSeed):
					// Registered after next's seed was fixed (docs/spec.md
					// §4.1): the first epoch this node can join is the one
					// after; say so once and skip next.
					n.log.Info("registered after the seed of the next epoch was fixed: joining the epoch after it",
						"epoch", next, "first_epoch", next+1)
					submitted = next
				case err != nil:
					n.log.Warn("VRF submission failed; retrying", "epoch", next, "err", err)
				default:
					submitted = next
				}
			}
		} else if n.ctx.Err() == nil {
			n.log.Warn("reading the current epoch", "err", err)
		}
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// submitVRF submits the VRF output for epoch e unless the chain has it.
func (n *Node) submitVRF(e uint64) error {
	info, err := n.client.Epoch(n.ctx, e)
	if err != nil {
		return err
	}
	for _, v := range info.VRFs {
		if v.Signer == n.index {
			return nil
		}
	}
	_, err = n.client.Submit(n.ctx, chain.NewVRFTx(n.chainID, n.key, e, info.Seed))
	if errors.Is(err, chain.ErrDuplicate) {
		return nil
	}
	if err == nil {
		n.log.Info("VRF output submitted", "epoch", e)
	}
	return err
}

// serve installs a stream handler that the node waits for on Close.
func (n *Node) serve(p protocol.ID, h func(network.Stream)) {
	n.host.SetStreamHandler(p, func(s network.Stream) {
		n.hmu.RLock()
		if n.closed.Load() {
			n.hmu.RUnlock()
			s.Reset()
			return
		}
		n.handlers.Add(1)
		n.hmu.RUnlock()
		defer n.handlers.Done()
		h(s)
	})
}

// Close stops serving, waits for requests in flight, and closes the host,
// the store and (if the node dialed it) the chain client. It is safe to call
// more than once.
func (n *Node) Close() error {
	n.hmu.Lock()
	already := n.closed.Swap(true)
	n.hmu.Unlock()
	if already {
		return nil
	}
	n.cancel()
	var errs []error
	if n.host != nil {
		for _, p := range []protocol.ID{da.ProtocolDisperse, da.ProtocolRow, da.ProtocolCell} {
			n.host.RemoveStreamHandler(p)
		}
		errs = append(errs, n.host.Close())
	}
	n.loop.Wait()
	n.handlers.Wait()
	if n.store != nil {
		errs = append(errs, n.store.Close())
	}
	if n.ownsCli && n.client != nil {
		errs = append(errs, n.client.Close())
	}
	if n.metrics != nil {
		n.metrics.unregister()
	}
	return errors.Join(errs...)
}

// Index is the node's signer index in the chain's registry.
func (n *Node) Index() uint32 { return n.index }

// PublicKey is the node's BLS public key.
func (n *Node) PublicKey() *signer.PublicKey { return n.key.PublicKey() }

// Host is the node's libp2p host (tests replace its stream handlers to
// inject faults).
func (n *Node) Host() host.Host { return n.host }

// PeerID is the node's libp2p peer id.
func (n *Node) PeerID() peer.ID { return n.host.ID() }

// Addrs are the multiaddrs the node registered (each with /p2p/<peer id>).
func (n *Node) Addrs() []string { return slices.Clone(n.addrs) }

// Store is the node's storage (for tools; the node owns it).
func (n *Node) Store() *storage.Store { return n.store }

// dialChain reaches the chain at Chain.RPC, verifying every answer from
// Chain.TrustFile's root when one is set.
func dialChain(ctx context.Context, cfg *Config) (chain.Client, error) {
	if cfg.Chain.TrustFile == "" {
		return chain.Dial(ctx, cfg.Chain.RPC)
	}
	root, err := chain.ReadTrustRoot(cfg.path(cfg.Chain.TrustFile))
	if err != nil {
		return nil, fmt.Errorf("%w: chain.trust_file: %v", ErrConfig, err)
	}
	return chain.DialVerified(ctx, cfg.Chain.RPC, *root)
}
