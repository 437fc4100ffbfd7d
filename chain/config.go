package chain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ConfigFile is where a home keeps its Config, relative to the home.
const ConfigFile = "config/chain.json"

// Config is a chain node's configuration: config/chain.json in its home.
// Each section has Default…(), Test…() and ValidateBasic(); fields left out
// of the file take their defaults. Genesis parameters are not here: they are
// in config/genesis.json (app_state), the same on every validator.
type Config struct {
	Node      NodeConfig      `json:"node"`
	P2P       P2PConfig       `json:"p2p"`
	RPC       RPCConfig       `json:"rpc"`
	Consensus ConsensusConfig `json:"consensus"`
	Mempool   MempoolConfig   `json:"mempool"`
}

// DefaultConfig runs a single validator on a laptop: loopback ports,
// half-second blocks.
func DefaultConfig() *Config {
	return &Config{
		Node:      DefaultNodeConfig(),
		P2P:       DefaultP2PConfig(),
		RPC:       DefaultRPCConfig(),
		Consensus: DefaultConsensusConfig(),
		Mempool:   DefaultMempoolConfig(),
	}
}

// TestConfig has blocks every few tens of milliseconds and no fixed ports
// (set P2P.Listen and RPC.Listen before use).
func TestConfig() *Config {
	return &Config{
		Node:      TestNodeConfig(),
		P2P:       TestP2PConfig(),
		RPC:       TestRPCConfig(),
		Consensus: TestConsensusConfig(),
		Mempool:   TestMempoolConfig(),
	}
}

// ValidateBasic checks every section; the error names the field.
func (c *Config) ValidateBasic() error {
	for _, err := range []error{
		c.Node.ValidateBasic(), c.P2P.ValidateBasic(), c.RPC.ValidateBasic(),
		c.Consensus.ValidateBasic(), c.Mempool.ValidateBasic(),
	} {
		if err != nil {
			return fmt.Errorf("%w: %v", ErrConfig, err)
		}
	}
	return nil
}

// NodeConfig names the node and sets its log level.
type NodeConfig struct {
	Moniker string `json:"moniker"`
	// LogLevel of CometBFT's logs: debug, info, warn, error or none.
	LogLevel string `json:"log_level"`
}

// DefaultNodeConfig logs at info.
func DefaultNodeConfig() NodeConfig { return NodeConfig{Moniker: "zgda", LogLevel: "info"} }

// TestNodeConfig logs nothing.
func TestNodeConfig() NodeConfig { return NodeConfig{Moniker: "zgda-test", LogLevel: "none"} }

// ValidateBasic names a bad field.
func (c NodeConfig) ValidateBasic() error {
	if c.Moniker == "" || len(c.Moniker) > 64 {
		return fmt.Errorf("node.moniker: %q, want 1 to 64 characters", c.Moniker)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error", "none":
	default:
		return fmt.Errorf("node.log_level: %q, want debug, info, warn, error or none", c.LogLevel)
	}
	return nil
}

// P2PConfig is the validator's peer-to-peer endpoint.
type P2PConfig struct {
	// Listen is host:port.
	Listen string `json:"listen"`
	// ExternalAddress, if set, is the host:port peers should dial.
	ExternalAddress string `json:"external_address"`
	// PersistentPeers are node_id@host:port, always kept connected.
	PersistentPeers []string `json:"persistent_peers"`
	// AllowDuplicateIP lets several peers share an IP (local networks).
	AllowDuplicateIP bool `json:"allow_duplicate_ip"`
	// AddrBookStrict refuses private and loopback peer addresses.
	AddrBookStrict bool `json:"addr_book_strict"`
}

// DefaultP2PConfig listens on 127.0.0.1:26656.
func DefaultP2PConfig() P2PConfig {
	return P2PConfig{Listen: "127.0.0.1:26656", AllowDuplicateIP: true, PersistentPeers: []string{}}
}

// TestP2PConfig is the default; tests set a free port.
func TestP2PConfig() P2PConfig { return DefaultP2PConfig() }

// ValidateBasic names a bad field.
func (c P2PConfig) ValidateBasic() error {
	if err := validHostPort(c.Listen); err != nil {
		return fmt.Errorf("p2p.listen: %v", err)
	}
	if c.ExternalAddress != "" {
		if err := validHostPort(c.ExternalAddress); err != nil {
			return fmt.Errorf("p2p.external_address: %v", err)
		}
	}
	for i, p := range c.PersistentPeers {
		id, addr, ok := strings.Cut(p, "@")
		if !ok || len(id) != 40 || strings.Trim(id, "0123456789abcdef") != "" {
			return fmt.Errorf("p2p.persistent_peers[%d]: %q, want node_id@host:port with a 40-digit hex node id", i, p)
		}
		if err := validHostPort(addr); err != nil {
			return fmt.Errorf("p2p.persistent_peers[%d]: %v", i, err)
		}
	}
	return nil
}

// RPCConfig is CometBFT's RPC endpoint, which chain.Dial talks to.
type RPCConfig struct {
	// Listen is host:port, or empty for no RPC server (in-process use only).
	Listen string `json:"listen"`
	// AllowRemote permits a non-loopback Listen host. The RPC has no
	// authentication: expose it only behind something that adds it.
	AllowRemote bool `json:"allow_remote"`
}

// DefaultRPCConfig listens on 127.0.0.1:26657.
func DefaultRPCConfig() RPCConfig { return RPCConfig{Listen: "127.0.0.1:26657"} }

// TestRPCConfig has no RPC server.
func TestRPCConfig() RPCConfig { return RPCConfig{Listen: ""} }

// ValidateBasic names a bad field.
func (c RPCConfig) ValidateBasic() error {
	if c.Listen == "" {
		return nil
	}
	if err := validHostPort(c.Listen); err != nil {
		return fmt.Errorf("rpc.listen: %v", err)
	}
	host, _, _ := net.SplitHostPort(c.Listen)
	if ip := net.ParseIP(host); !c.AllowRemote && host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("rpc.listen: %q is not a loopback address; set rpc.allow_remote to expose the unauthenticated RPC", c.Listen)
	}
	return nil
}

// ConsensusConfig holds CometBFT's consensus timeouts.
type ConsensusConfig struct {
	TimeoutPropose   Duration `json:"timeout_propose"`
	TimeoutPrevote   Duration `json:"timeout_prevote"`
	TimeoutPrecommit Duration `json:"timeout_precommit"`
	// TimeoutCommit is the pause after a block before the next height:
	// roughly the block time of a single validator.
	TimeoutCommit Duration `json:"timeout_commit"`
	// CreateEmptyBlocks keeps blocks (and so epochs) coming without
	// transactions.
	CreateEmptyBlocks bool `json:"create_empty_blocks"`
	// PeerGossipSleep is how often consensus gossip runs per peer.
	PeerGossipSleep Duration `json:"peer_gossip_sleep"`
}

// DefaultConsensusConfig makes about two blocks a second.
func DefaultConsensusConfig() ConsensusConfig {
	return ConsensusConfig{
		TimeoutPropose:    Duration(time.Second),
		TimeoutPrevote:    Duration(500 * time.Millisecond),
		TimeoutPrecommit:  Duration(500 * time.Millisecond),
		TimeoutCommit:     Duration(500 * time.Millisecond),
		CreateEmptyBlocks: true,
		PeerGossipSleep:   Duration(100 * time.Millisecond),
	}
}

// TestConsensusConfig has timeouts of tens of milliseconds.
func TestConsensusConfig() ConsensusConfig {
	return ConsensusConfig{
		TimeoutPropose:    Duration(150 * time.Millisecond),
		TimeoutPrevote:    Duration(20 * time.Millisecond),
		TimeoutPrecommit:  Duration(20 * time.Millisecond),
		TimeoutCommit:     Duration(20 * time.Millisecond),
		CreateEmptyBlocks: true,
		PeerGossipSleep:   Duration(5 * time.Millisecond),
	}
}

// ValidateBasic names a bad field.
func (c ConsensusConfig) ValidateBasic() error {
	for _, f := range []struct {
		name string
		d    Duration
		min  time.Duration
	}{
		{"timeout_propose", c.TimeoutPropose, time.Millisecond},
		{"timeout_prevote", c.TimeoutPrevote, time.Millisecond},
		{"timeout_precommit", c.TimeoutPrecommit, time.Millisecond},
		{"timeout_commit", c.TimeoutCommit, 0},
		{"peer_gossip_sleep", c.PeerGossipSleep, time.Millisecond},
	} {
		if time.Duration(f.d) < f.min || time.Duration(f.d) > time.Minute {
			return fmt.Errorf("consensus.%s: %s, want %s to 1m", f.name, f.d, f.min)
		}
	}
	return nil
}

// MempoolConfig bounds the pending transactions.
type MempoolConfig struct {
	// Size is the most transactions held.
	Size int `json:"size"`
	// MaxTxBytes is the largest transaction the mempool takes; at least
	// MaxTxSize so that the app, not the mempool, explains oversized ones.
	MaxTxBytes int `json:"max_tx_bytes"`
	// CacheSize is how many recent transactions are remembered to drop
	// duplicates early.
	CacheSize int `json:"cache_size"`
}

// DefaultMempoolConfig holds 10,000 transactions of up to 1 MiB.
func DefaultMempoolConfig() MempoolConfig {
	return MempoolConfig{Size: 10000, MaxTxBytes: 1 << 20, CacheSize: 10000}
}

// TestMempoolConfig is the default.
func TestMempoolConfig() MempoolConfig { return DefaultMempoolConfig() }

// ValidateBasic names a bad field.
func (c MempoolConfig) ValidateBasic() error {
	switch {
	case c.Size < 1 || c.Size > 1<<20:
		return fmt.Errorf("mempool.size: %d, want 1 to %d", c.Size, 1<<20)
	case c.MaxTxBytes < MaxTxSize || c.MaxTxBytes > 64<<20:
		return fmt.Errorf("mempool.max_tx_bytes: %d, want %d to %d", c.MaxTxBytes, MaxTxSize, 64<<20)
	case c.CacheSize < 0 || c.CacheSize > 1<<22:
		return fmt.Errorf("mempool.cache_size: %d, want 0 to %d", c.CacheSize, 1<<22)
	}
	return nil
}

func validHostPort(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q: want host:port", s)
	}
	if host == "" {
		return fmt.Errorf("%q: missing host", s)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("%q: bad port", s)
	}
	return nil
}

// Duration is a time.Duration written as a string ("500ms", "1s") in JSON.
type Duration time.Duration

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("duration %q: want a number with a unit, e.g. 500ms", b)
	}
	*d = Duration(v)
	return nil
}

// LoadConfig reads home's config/chain.json over the defaults and validates
// it. A missing file is an error: run `zgda chain init` first.
func LoadConfig(home string) (*Config, error) {
	path := filepath.Join(home, ConfigFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s does not exist; initialize the home with `zgda chain init --home %s`", ErrConfig, path, home)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	c := DefaultConfig()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(c); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrConfig, path, err)
	}
	if err := c.ValidateBasic(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// WriteConfig writes c to home's config/chain.json.
func WriteConfig(home string, c *Config) error {
	if err := c.ValidateBasic(); err != nil {
		return err
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(home, ConfigFile)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o600)
}
