package node

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	ma "github.com/multiformats/go-multiaddr"

	"github.com/zgda/zgda/chain"
	"github.com/zgda/zgda/da"
)

// ConfigFile is where a node's home keeps its Config, relative to the home.
const ConfigFile = "config/node.json"

// Config is a DA node's configuration: config/node.json in its home. Each
// section has Default…(), Test…() and ValidateBasic(); fields left out of the
// file take their defaults. Relative paths are relative to the home.
type Config struct {
	// Home is the node's home directory (not in the file: it is where the
	// file is).
	Home    string        `json:"-"`
	Chain   ChainConfig   `json:"chain"`
	P2P     P2PConfig     `json:"p2p"`
	Storage StorageConfig `json:"storage"`
	Limits  LimitsConfig  `json:"limits"`
	Key     KeyConfig     `json:"key"`
	Metrics MetricsConfig `json:"metrics"`
}

// ChainConfig says how the node reaches the chain.
type ChainConfig struct {
	// RPC is the chain node's CometBFT RPC address (chain.Dial). Not used
	// when a client is passed with WithClient.
	RPC string `json:"rpc"`
	// PollInterval is how often the node looks for a new epoch (to submit its
	// VRF output and tell storage the epoch).
	PollInterval chain.Duration `json:"poll_interval"`
	// Stake is what the node asks to be registered with, when it is not
	// registered yet and a registrar key is given.
	Stake uint64 `json:"stake"`
	// TrustFile, when set, is the chain's trust root (chain.TrustRoot; its
	// chain id is pinned): the node then verifies every chain answer
	// (light-client headers, ICS-23 proofs) and refuses to sign for a
	// quorum it cannot prove (docs/spec.md §6 Verified reads). Empty: the
	// RPC is believed.
	TrustFile string `json:"trust_file"`
}

// P2PConfig is the node's libp2p endpoint.
type P2PConfig struct {
	// Listen lists the multiaddrs to listen on (TCP).
	Listen []string `json:"listen"`
	// Announce, if set, is registered on the chain instead of the addresses
	// the host actually listens on (behind NAT or a proxy). The node's
	// /p2p/<peer id> is appended to each.
	Announce []string `json:"announce"`
	// IdentityFile holds the ed25519 libp2p key (created on first start,
	// mode 0600).
	IdentityFile string `json:"identity_file"`
	// libp2p's resource manager (docs/spec.md §5): MaxConns inbound
	// connections in all, MaxConnsPerPeer and MaxStreamsPerPeer inbound per
	// peer, and MaxMemory bytes for libp2p's own buffers (yamux windows).
	MaxConns          int   `json:"max_conns"`
	MaxConnsPerPeer   int   `json:"max_conns_per_peer"`
	MaxStreamsPerPeer int   `json:"max_streams_per_peer"`
	MaxMemory         int64 `json:"max_memory"`
}

// StorageConfig is where rows are kept, and for how long.
type StorageConfig struct {
	// Meta is the metadata (Pebble) directory.
	Meta string `json:"meta"`
	// Volumes are the data directories (one per disk); they must exist.
	Volumes []string `json:"volumes"`
	// KeepEpochs: rows, headers and cells are pruned this many epochs after
	// the one they were stored for. 0 follows the chain: availability_epochs
	// + 1, the shortest that keeps the chain's promise (for ever on a chain
	// whose window is unbounded). See EffectiveKeepEpochs.
	KeepEpochs uint64 `json:"keep_epochs"`
}

// LimitsConfig bounds the work a node takes on.
type LimitsConfig struct {
	// MaxConcurrent is the number of dispersal requests decoded, verified
	// and stored at once (a request takes a slot once it has arrived whole).
	MaxConcurrent int `json:"max_concurrent"`
	// MaxPerPeer is the number of dispersal streams one peer may have open;
	// more are answered Busy before any byte is read.
	MaxPerPeer int `json:"max_per_peer"`
	// HeaderTimeout bounds the wait for a dispersal request's frame header,
	// from the stream's opening.
	HeaderTimeout chain.Duration `json:"header_timeout"`
	// MaxInflightBytes bounds the memory held by dispersal requests (each
	// counts twice its size).
	MaxInflightBytes int64 `json:"max_inflight_bytes"`
	// MaxQueries is the number of row and cell requests served at once.
	MaxQueries int `json:"max_queries"`
	// CellCacheBytes bounds the memory kept for the cells and proofs of
	// rows asked often (about 262 KB a row); their proofs are on disk.
	CellCacheBytes int64 `json:"cell_cache_bytes"`
	// RequestTimeout bounds one request from its first byte to its answer.
	RequestTimeout chain.Duration `json:"request_timeout"`
}

// KeyConfig names the BLS key.
type KeyConfig struct {
	// Keystore is an EIP-2335 keystore file (zgda keys generate).
	Keystore string `json:"keystore"`
	// PasswordFile holds the keystore's password (first line).
	PasswordFile string `json:"password_file"`
}

// MetricsConfig is the Prometheus endpoint of `zgda node start`.
type MetricsConfig struct {
	// Listen is host:port for GET /metrics; empty turns it off.
	Listen string `json:"listen"`
}

// DefaultConfig is a node on a laptop: libp2p on a free loopback port, the
// chain's RPC on its default port, one volume under the home.
func DefaultConfig(home string) *Config {
	return &Config{
		Home:    home,
		Chain:   DefaultChainConfig(),
		P2P:     DefaultP2PConfig(),
		Storage: DefaultStorageConfig(),
		Limits:  DefaultLimitsConfig(),
		Key:     DefaultKeyConfig(),
		Metrics: MetricsConfig{},
	}
}

// TestConfig is DefaultConfig with a fast epoch poll and small bounds.
func TestConfig(home string) *Config {
	c := DefaultConfig(home)
	c.Chain = TestChainConfig()
	c.Limits = TestLimitsConfig()
	return c
}

func DefaultChainConfig() ChainConfig {
	return ChainConfig{RPC: "http://127.0.0.1:26657", PollInterval: chain.Duration(time.Second), Stake: 64}
}

func TestChainConfig() ChainConfig {
	c := DefaultChainConfig()
	c.RPC = ""
	c.PollInterval = chain.Duration(50 * time.Millisecond)
	return c
}

func DefaultP2PConfig() P2PConfig {
	return P2PConfig{
		Listen:            []string{"/ip4/127.0.0.1/tcp/0"},
		IdentityFile:      "p2p/identity.key",
		MaxConns:          256,
		MaxConnsPerPeer:   4,
		MaxStreamsPerPeer: 256,
		MaxMemory:         1 << 30,
	}
}

func DefaultStorageConfig() StorageConfig {
	return StorageConfig{Meta: "storage/meta", Volumes: []string{"storage/vol0"}}
}

func DefaultLimitsConfig() LimitsConfig {
	return LimitsConfig{
		MaxConcurrent:    4,
		MaxPerPeer:       2,
		HeaderTimeout:    chain.Duration(5 * time.Second),
		MaxInflightBytes: 512 << 20,
		MaxQueries:       64,
		CellCacheBytes:   64 << 20,
		RequestTimeout:   chain.Duration(2 * time.Minute),
	}
}

func TestLimitsConfig() LimitsConfig {
	c := DefaultLimitsConfig()
	c.MaxConcurrent = 2
	c.MaxInflightBytes = 2 * da.MaxDisperseRequestSize
	c.RequestTimeout = chain.Duration(30 * time.Second)
	c.HeaderTimeout = chain.Duration(time.Second)
	return c
}

func DefaultKeyConfig() KeyConfig {
	return KeyConfig{Keystore: "keys/bls.json", PasswordFile: "keys/password.txt"}
}

// ValidateBasic checks every section; the error names the field.
func (c *Config) ValidateBasic() error {
	if c.Home == "" {
		return fmt.Errorf("%w: home: empty", ErrConfig)
	}
	for _, err := range []error{c.Chain.ValidateBasic(), c.P2P.ValidateBasic(), c.Storage.ValidateBasic(),
		c.Limits.ValidateBasic(), c.Key.ValidateBasic(), c.Metrics.ValidateBasic()} {
		if err != nil {
			return fmt.Errorf("%w: %v", ErrConfig, err)
		}
	}
	return nil
}

func (c ChainConfig) ValidateBasic() error {
	if c.PollInterval < chain.Duration(time.Millisecond) || c.PollInterval > chain.Duration(time.Hour) {
		return fmt.Errorf("chain.poll_interval: %v, want 1ms to 1h", c.PollInterval)
	}
	return nil
}

func (c P2PConfig) ValidateBasic() error {
	if len(c.Listen) == 0 {
		return errors.New("p2p.listen: at least one multiaddr is needed")
	}
	for i, s := range c.Listen {
		if _, err := ma.NewMultiaddr(s); err != nil {
			return fmt.Errorf("p2p.listen[%d]: %q: %v", i, s, err)
		}
	}
	if len(c.Announce) > chain.MaxAddrs {
		return fmt.Errorf("p2p.announce: %d addresses, at most %d", len(c.Announce), chain.MaxAddrs)
	}
	for i, s := range c.Announce {
		if _, err := ma.NewMultiaddr(s); err != nil {
			return fmt.Errorf("p2p.announce[%d]: %q: %v", i, s, err)
		}
	}
	if c.IdentityFile == "" {
		return errors.New("p2p.identity_file: empty")
	}
	switch {
	case c.MaxConns < 1 || c.MaxConns > 1<<20:
		return fmt.Errorf("p2p.max_conns: %d, want 1 to 2^20", c.MaxConns)
	case c.MaxConnsPerPeer < 1 || c.MaxConnsPerPeer > c.MaxConns:
		return fmt.Errorf("p2p.max_conns_per_peer: %d, want 1 to p2p.max_conns (%d)", c.MaxConnsPerPeer, c.MaxConns)
	case c.MaxStreamsPerPeer < 8 || c.MaxStreamsPerPeer > 1<<20:
		return fmt.Errorf("p2p.max_streams_per_peer: %d, want 8 to 2^20", c.MaxStreamsPerPeer)
	case c.MaxMemory < 64<<20:
		return fmt.Errorf("p2p.max_memory: %d bytes, want at least 64 MiB (67108864)", c.MaxMemory)
	}
	return nil
}

func (c StorageConfig) ValidateBasic() error {
	if c.Meta == "" {
		return errors.New("storage.meta: empty")
	}
	if len(c.Volumes) == 0 {
		return errors.New("storage.volumes: at least one volume is needed")
	}
	for i, v := range c.Volumes {
		if v == "" {
			return fmt.Errorf("storage.volumes[%d]: empty", i)
		}
	}
	return nil
}

// EffectiveKeepEpochs is the retention the node applies on a chain with
// params p: KeepEpochs, or, when it is 0, availability_epochs + 1 (0, for
// ever, when the window is unbounded).
func (c StorageConfig) EffectiveKeepEpochs(p chain.Params) uint64 {
	if c.KeepEpochs != 0 {
		return c.KeepEpochs
	}
	if w := p.AvailabilityEpochs; w != 0 && w != math.MaxUint64 {
		return w + 1
	}
	return 0
}

// ValidateWindow checks KeepEpochs against the chain's availability window
// (docs/spec.md §6): a batch whose certificate has epoch e must stay
// retrievable through epoch e + availability_epochs, and a row stored for
// epoch e with KeepEpochs K is pruned once the epoch reaches e + K, so K must
// be 0 (follow the chain) or more than availability_epochs. On a chain whose
// window is unbounded (availability_epochs 0), or so long that no K is
// larger, only 0 will do. The error, ErrRetention
// wrapped in ErrConfig, names the value to set.
func (c StorageConfig) ValidateWindow(p chain.Params) error {
	k, w := c.KeepEpochs, p.AvailabilityEpochs
	switch {
	case k == 0 || (w != 0 && k > w):
		return nil
	case w == 0 || w == math.MaxUint64:
		return fmt.Errorf("%w: %w: storage.keep_epochs %d, but the chain keeps batches available for ever (availability_epochs %d): set storage.keep_epochs to 0 (follow the chain: keep rows)",
			ErrConfig, ErrRetention, k, w)
	default:
		return fmt.Errorf("%w: %w: storage.keep_epochs %d, availability_epochs %d: a batch certified for epoch e is promised through epoch e + %d, its rows are pruned at e + %d; set storage.keep_epochs to at least %d, or 0 to follow the chain (%d)",
			ErrConfig, ErrRetention, k, w, w, k, w+1, w+1)
	}
}

func (c LimitsConfig) ValidateBasic() error {
	switch {
	case c.MaxConcurrent < 1 || c.MaxConcurrent > 1024:
		return fmt.Errorf("limits.max_concurrent: %d, want 1 to 1024", c.MaxConcurrent)
	case c.MaxPerPeer < 1 || c.MaxPerPeer > 1024:
		return fmt.Errorf("limits.max_per_peer: %d, want 1 to 1024", c.MaxPerPeer)
	case c.HeaderTimeout < chain.Duration(10*time.Millisecond) || c.HeaderTimeout > c.RequestTimeout:
		return fmt.Errorf("limits.header_timeout: %v, want 10ms to limits.request_timeout (%v)", c.HeaderTimeout, c.RequestTimeout)
	case c.MaxInflightBytes < 2*da.MaxDisperseRequestSize:
		return fmt.Errorf("limits.max_inflight_bytes: %d, want at least %d (twice the largest dispersal request)",
			c.MaxInflightBytes, 2*da.MaxDisperseRequestSize)
	case c.MaxQueries < 1 || c.MaxQueries > 65536:
		return fmt.Errorf("limits.max_queries: %d, want 1 to 65536", c.MaxQueries)
	case c.RequestTimeout < chain.Duration(100*time.Millisecond):
		return fmt.Errorf("limits.request_timeout: %v, want at least 100ms", c.RequestTimeout)
	case c.CellCacheBytes < 0:
		return fmt.Errorf("limits.cell_cache_bytes: %d, want 0 (keep none in memory) or more", c.CellCacheBytes)
	}
	return nil
}

func (c KeyConfig) ValidateBasic() error { return nil }

func (c MetricsConfig) ValidateBasic() error { return nil }

// path resolves p against the home.
func (c *Config) path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.Home, p)
}

// KeystorePath and PasswordPath are the key files, resolved against the home.
func (c *Config) KeystorePath() string { return c.path(c.Key.Keystore) }
func (c *Config) PasswordPath() string { return c.path(c.Key.PasswordFile) }

// VolumePaths are the storage volumes, resolved against the home.
func (c *Config) VolumePaths() []string {
	out := make([]string, len(c.Storage.Volumes))
	for i, v := range c.Storage.Volumes {
		out[i] = c.path(v)
	}
	return out
}

// LoadConfig reads home's config/node.json over the defaults (unknown fields
// are errors) and validates it. A missing file is an error: run
// `zgda node init` first.
func LoadConfig(home string) (*Config, error) {
	file := filepath.Join(home, ConfigFile)
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("%w: %v (run 'zgda node init --home %s' first)", ErrConfig, err, home)
	}
	c := DefaultConfig(home)
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(c); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrConfig, file, err)
	}
	c.Home = home
	if err := c.ValidateBasic(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return c, nil
}

// WriteConfig writes c to home's config/node.json.
func WriteConfig(home string, c *Config) error {
	raw, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	file := filepath.Join(home, ConfigFile)
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	return os.WriteFile(file, append(raw, '\n'), 0o600)
}
