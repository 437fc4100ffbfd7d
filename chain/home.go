package chain

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/types"
	cmttime "github.com/cometbft/cometbft/types/time"
)

// A node's home directory:
//
//	config/chain.json               Config (this package)
//	config/genesis.json             CometBFT genesis; app_state is a GenesisState
//	config/node_key.json            p2p identity (ed25519)
//	config/priv_validator_key.json  consensus key (ed25519)
//	data/priv_validator_state.json  last signed height/round/step
//	data/*.db                       CometBFT block store, state, indexes
//	data/app/                       the app state (Pebble)
const (
	GenesisFile        = "config/genesis.json"
	nodeKeyFile        = "config/node_key.json"
	privValKeyFile     = "config/priv_validator_key.json"
	privValStateFile   = "data/priv_validator_state.json"
	appStateDir        = "data/app"
	DefaultChainID     = "zgda-local"
	defaultVotingPower = 10
)

// InitOptions shape a new chain.
type InitOptions struct {
	// ChainID defaults to DefaultChainID.
	ChainID string
	// Genesis defaults to DefaultGenesisState().
	Genesis *GenesisState
	// Config defaults to DefaultConfig() (for InitNetwork: the template
	// whose P2P and RPC addresses are filled in per node).
	Config *Config
	// InitialHeight is the genesis initial_height, the first block's
	// height; 0 means 1.
	InitialHeight int64
}

func (o *InitOptions) fill() error {
	if o.ChainID == "" {
		o.ChainID = DefaultChainID
	}
	if err := validChainID(o.ChainID); err != nil {
		return err
	}
	if o.Genesis == nil {
		o.Genesis = DefaultGenesisState()
	}
	if err := o.Genesis.Validate(o.ChainID); err != nil {
		return err
	}
	if o.Config == nil {
		o.Config = DefaultConfig()
	}
	if o.InitialHeight == 0 {
		o.InitialHeight = 1
	}
	if o.InitialHeight < 1 {
		return fmt.Errorf("%w: initial_height %d: want 1 or more", ErrGenesis, o.InitialHeight)
	}
	return nil
}

func validChainID(id string) error {
	if len(id) == 0 || len(id) > 50 {
		return fmt.Errorf("%w: chain id %q: want 1 to 50 characters", ErrGenesis, id)
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return fmt.Errorf("%w: chain id %q: character %d is not printable ASCII", ErrGenesis, id, i)
		}
	}
	return nil
}

// IsInitialized reports whether home holds a genesis file.
func IsInitialized(home string) bool {
	_, err := os.Stat(filepath.Join(home, GenesisFile))
	return err == nil
}

// ErrHomeExists is returned by InitHome and InitNetwork for a home that is
// already initialized.
var ErrHomeExists = errors.New("chain: home already initialized")

// InitHome creates a single-validator chain in home: keys, genesis, config.
func InitHome(home string, opts InitOptions) error {
	if err := opts.fill(); err != nil {
		return err
	}
	if IsInitialized(home) {
		return fmt.Errorf("%w: %s", ErrHomeExists, filepath.Join(home, GenesisFile))
	}
	v, err := initKeys(home)
	if err != nil {
		return err
	}
	v.Name = opts.Config.Node.Moniker
	if err := WriteConfig(home, opts.Config); err != nil {
		return err
	}
	return writeGenesis([]string{home}, opts, []types.GenesisValidator{v})
}

// InitNetwork creates n validator homes dir/node0 … dir/node{n−1} sharing one
// genesis, each listening on loopback. Node i uses ports basePort+2i (p2p)
// and basePort+2i+1 (RPC); basePort 0 picks free ports. It returns the homes.
func InitNetwork(dir string, n, basePort int, opts InitOptions) ([]string, error) {
	if n < 1 || n > 100 {
		return nil, fmt.Errorf("%w: %d validators, want 1 to 100", ErrConfig, n)
	}
	if basePort < 0 || basePort+2*n > 65535 {
		return nil, fmt.Errorf("%w: base port %d for %d validators", ErrConfig, basePort, n)
	}
	if err := opts.fill(); err != nil {
		return nil, err
	}
	homes := make([]string, n)
	vals := make([]types.GenesisValidator, n)
	cfgs := make([]Config, n)
	ids := make([]string, n)
	var free []int
	if basePort == 0 {
		var err error
		if free, err = FreePorts(2 * n); err != nil {
			return nil, err
		}
	}
	for i := range homes {
		homes[i] = filepath.Join(dir, fmt.Sprintf("node%d", i))
		if IsInitialized(homes[i]) {
			return nil, fmt.Errorf("%w: %s", ErrHomeExists, homes[i])
		}
	}
	for i, home := range homes {
		v, err := initKeys(home)
		if err != nil {
			return nil, err
		}
		nk, err := p2p.LoadNodeKey(filepath.Join(home, nodeKeyFile))
		if err != nil {
			return nil, err
		}
		ids[i] = string(nk.ID())
		cfgs[i] = *opts.Config
		cfgs[i].Node.Moniker = fmt.Sprintf("node%d", i)
		v.Name = cfgs[i].Node.Moniker
		vals[i] = v
		p2pPort, rpcPort := basePort+2*i, basePort+2*i+1
		if basePort == 0 {
			p2pPort, rpcPort = free[2*i], free[2*i+1]
		}
		cfgs[i].P2P.Listen = net.JoinHostPort("127.0.0.1", strconv.Itoa(p2pPort))
		cfgs[i].P2P.AllowDuplicateIP = true
		cfgs[i].P2P.AddrBookStrict = false
		if opts.Config.RPC.Listen != "" || basePort != 0 {
			cfgs[i].RPC.Listen = net.JoinHostPort("127.0.0.1", strconv.Itoa(rpcPort))
		}
	}
	for i, home := range homes {
		peers := []string{}
		for j := range homes {
			if j != i {
				peers = append(peers, ids[j]+"@"+cfgs[j].P2P.Listen)
			}
		}
		cfgs[i].P2P.PersistentPeers = peers
		if err := WriteConfig(home, &cfgs[i]); err != nil {
			return nil, err
		}
	}
	return homes, writeGenesis(homes, opts, vals)
}

// initKeys creates home's directories, node key and validator key.
func initKeys(home string) (types.GenesisValidator, error) {
	for _, d := range []string{"config", "data"} {
		if err := os.MkdirAll(filepath.Join(home, d), 0o700); err != nil {
			return types.GenesisValidator{}, err
		}
	}
	nk := &p2p.NodeKey{PrivKey: ed25519.GenPrivKey()}
	if err := nk.SaveAs(filepath.Join(home, nodeKeyFile)); err != nil {
		return types.GenesisValidator{}, err
	}
	pv := privval.NewFilePV(ed25519.GenPrivKey(), filepath.Join(home, privValKeyFile), filepath.Join(home, privValStateFile))
	pv.Save()
	pk := pv.Key.PubKey
	return types.GenesisValidator{Address: pk.Address(), PubKey: pk, Power: defaultVotingPower}, nil
}

func writeGenesis(homes []string, opts InitOptions, vals []types.GenesisValidator) error {
	app, err := json.MarshalIndent(opts.Genesis, "", "  ")
	if err != nil {
		return err
	}
	doc := &types.GenesisDoc{
		GenesisTime:     cmttime.Now(),
		ChainID:         opts.ChainID,
		InitialHeight:   opts.InitialHeight,
		ConsensusParams: types.DefaultConsensusParams(),
		Validators:      vals,
		AppState:        app,
	}
	if err := doc.ValidateAndComplete(); err != nil {
		return fmt.Errorf("%w: %v", ErrGenesis, err)
	}
	for _, home := range homes {
		if err := doc.SaveAs(filepath.Join(home, GenesisFile)); err != nil {
			return err
		}
	}
	return nil
}

// FreePorts asks the OS for n free loopback TCP ports. Another process may
// take one before it is used; tests accept that small race.
func FreePorts(n int) ([]int, error) {
	ls := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, n)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports, nil
}
