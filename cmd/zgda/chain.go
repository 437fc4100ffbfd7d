package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/zgda/zgda/chain"
	"github.com/zgda/zgda/da"
)

func init() {
	chainCmd := &cobra.Command{
		Use:   "chain",
		Short: "Run zgda's CometBFT chain (signer registry, epochs, certificates)",
	}

	var home, chainID, registrar, disperserQuota string
	var dispersers []string
	var validators, basePort int
	var epochLength uint64
	var initialHeight int64
	var quorumSize, minBatchSlots uint32
	initCmd := &cobra.Command{
		Use:   "init --home DIR [--validators N]",
		Short: "Create the home(s) of a new chain: keys, genesis, config",
		Long: `init writes a new chain. With --validators 1 (the default) DIR is the
validator's home; with N > 1 it writes DIR/node0 … DIR/node{N-1}, one home per
validator, all on loopback: node i listens on --base-port+2i (p2p) and
--base-port+2i+1 (RPC). Each home holds config/chain.json (edit it to change
ports or timeouts) and config/genesis.json, whose app_state sets the chain
parameters. New DA signers can register only if --registrar names the BLS
public key that grants their stake. DA nodes take dispersals only from
registered dispersers: --disperser (repeatable; the peer id 'zgda serve'
prints) registers one in genesis with --disperser-quota bytes per epoch, and
the registrar can add more later ('zgda chain register-disperser').

A batch's window spans max(N, --min-batch-slots) quorum slots; init prints
the chance that faulty nodes holding 1/4 or 1/3 of the tickets hold 5/12 of
a window (the safety bound of docs/spec.md §4.2), so that the parameters can
be chosen for the faulty-stake assumption.` + safetyHelp(),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if home == "" {
				return fmt.Errorf("--home is required")
			}
			g := chain.DefaultGenesisState()
			if epochLength != 0 {
				g.Params.EpochLength = epochLength
			}
			if quorumSize != 0 {
				g.Params.QuorumSize = quorumSize
			}
			if minBatchSlots != 0 {
				g.Params.MinBatchSlots = minBatchSlots
			}
			if err := g.Params.ValidateBasic(); err != nil {
				return err
			}
			if registrar != "" {
				var pk da.PublicKey
				if err := pk.UnmarshalText([]byte(registrar)); err != nil {
					return fmt.Errorf("--registrar: %w", err)
				}
				g.Registrar = &pk
			}
			q, err := parseQuota(disperserQuota)
			if err != nil {
				return fmt.Errorf("--disperser-quota: %w", err)
			}
			for _, s := range dispersers {
				k, err := parseDisperserKey(s)
				if err != nil {
					return fmt.Errorf("--disperser: %w", err)
				}
				g.Dispersers = append(g.Dispersers, chain.GenesisDisperser{PubKey: k, Quota: q})
			}
			if initialHeight < 0 {
				return fmt.Errorf("--initial-height %d: want 1 or more (0: 1)", initialHeight)
			}
			opts := chain.InitOptions{ChainID: chainID, Genesis: g, InitialHeight: initialHeight}
			w := cmd.OutOrStdout()
			if validators == 1 {
				p2p, rpc := basePort, basePort+1
				switch {
				case basePort < 0 || basePort > 65534:
					return fmt.Errorf("--base-port %d: want 0 (free ports) or 1 to 65534", basePort)
				case basePort == 0:
					free, err := chain.FreePorts(2)
					if err != nil {
						return err
					}
					p2p, rpc = free[0], free[1]
				}
				cfg := chain.DefaultConfig()
				cfg.P2P.Listen = net.JoinHostPort("127.0.0.1", strconv.Itoa(p2p))
				cfg.RPC.Listen = net.JoinHostPort("127.0.0.1", strconv.Itoa(rpc))
				opts.Config = cfg
				if err := chain.InitHome(home, opts); err != nil {
					return err
				}
				fmt.Fprintf(w, "initialized a single-validator chain in %s (rpc http://%s)\n", home, cfg.RPC.Listen)
			} else {
				homes, err := chain.InitNetwork(home, validators, basePort, opts)
				if err != nil {
					return err
				}
				fmt.Fprintf(w, "initialized %d validators:\n", len(homes))
				for _, h := range homes {
					c, err := chain.LoadConfig(h)
					if err != nil {
						return err
					}
					fmt.Fprintf(w, "  %s  p2p %s  rpc http://%s\n", h, c.P2P.Listen, c.RPC.Listen)
				}
			}
			printSafety(w, g.Params)
			if registrar == "" {
				fmt.Fprintln(w, "note: no --registrar; only genesis signers can sign certificates on this chain")
			}
			if len(dispersers) == 0 {
				fmt.Fprintln(w, "note: no --disperser; DA nodes take dispersals only once the registrar registers one ('zgda chain register-disperser')")
			}
			fmt.Fprintf(w, "start it with: zgda chain start --home %s\n", home)
			return nil
		},
	}
	initCmd.Flags().StringVar(&home, "home", "", "directory to create the chain in")
	initCmd.Flags().IntVar(&validators, "validators", 1, "number of validators")
	initCmd.Flags().StringVar(&chainID, "chain-id", chain.DefaultChainID, "chain id")
	initCmd.Flags().IntVar(&basePort, "base-port", 26656, "first port (p2p; RPC is the next); 0 picks free ports")
	initCmd.Flags().Uint64Var(&epochLength, "epoch-length", 0, "blocks per epoch (0: the default, 100)")
	initCmd.Flags().Uint32Var(&quorumSize, "quorum-size", 0, "slots per quorum M, a power of two (0: the default, 1024)")
	initCmd.Flags().Uint32Var(&minBatchSlots, "min-batch-slots", 0, "least window slots W of a batch, ≤ the quorum size (0: the default, 256)")
	initCmd.Flags().Int64Var(&initialHeight, "initial-height", 0, "height of the chain's first block (genesis initial_height; 0: 1)")
	initCmd.Flags().StringVar(&registrar, "registrar", "", "BLS public key (0x…) allowed to register signers and grant stake")
	initCmd.Flags().StringArrayVar(&dispersers, "disperser", nil, "a disperser's peer id or 0x ed25519 key to register in genesis (repeatable)")
	initCmd.Flags().StringVar(&disperserQuota, "disperser-quota", "1TiB", "each genesis disperser's quota: data-row bytes per epoch")

	var startHome string
	var only int
	startCmd := &cobra.Command{
		Use:   "start --home DIR",
		Short: "Run the validator(s) of a home made by 'zgda chain init'",
		Long: `start runs the validator whose home is DIR, or, when DIR holds node0 … nodeN
homes, all of them in this process (--node i runs only DIR/node{i}). It runs
until interrupted (Ctrl-C), then stops cleanly; starting again resumes.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if startHome == "" {
				return fmt.Errorf("--home is required")
			}
			homes, err := chainHomes(startHome, only)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(contextOf(cmd), os.Interrupt, syscall.SIGTERM)
			defer stop()
			var nodes []*chain.Node
			defer func() {
				for _, n := range nodes {
					n.Stop()
				}
			}()
			w := cmd.OutOrStdout()
			for _, h := range homes {
				n, err := chain.StartNode(ctx, h)
				if err != nil {
					return err
				}
				nodes = append(nodes, n)
				fmt.Fprintf(w, "started %s: chain %s, node %s, height %d, rpc %s\n",
					h, n.ChainID(), n.NodeID(), n.Height(), orNone(n.RPCAddress()))
			}
			// The trust root clients verify the chain from, once block 1
			// exists: DIR/config/trust.json of the first home.
			if err := nodes[0].Client().WaitForHeight(ctx, 1); err == nil {
				tf := filepath.Join(homes[0], "config", chain.TrustFile)
				if err := nodes[0].WriteTrustFile(tf); err != nil {
					return err
				}
				fmt.Fprintf(w, "trust root: %s (zgda verify|sample|light --trust %s)\n", tf, tf)
			}
			<-ctx.Done()
			fmt.Fprintln(w, "stopping")
			return nil
		},
	}
	startCmd.Flags().StringVar(&startHome, "home", "", "home made by 'zgda chain init'")
	startCmd.Flags().IntVar(&only, "node", -1, "run only DIR/node{i} of a multi-validator home")

	chainCmd.AddCommand(initCmd, startCmd, registerDisperserCmd())
	rootCmd.AddCommand(chainCmd)
}

// chainHomes resolves --home (and --node) to the validator homes to run.
func chainHomes(dir string, only int) ([]string, error) {
	if only >= 0 {
		h := filepath.Join(dir, "node"+strconv.Itoa(only))
		if !chain.IsInitialized(h) {
			return nil, fmt.Errorf("%s is not a chain home (no %s)", h, chain.GenesisFile)
		}
		return []string{h}, nil
	}
	if chain.IsInitialized(dir) {
		return []string{dir}, nil
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "node*"))
	var homes []string
	for _, m := range matches {
		if chain.IsInitialized(m) {
			homes = append(homes, m)
		}
	}
	if len(homes) == 0 {
		return nil, fmt.Errorf("%s is not a chain home (no %s and no node*/ homes); run 'zgda chain init --home %s'", dir, chain.GenesisFile, dir)
	}
	sort.Slice(homes, func(i, j int) bool { return nodeIndex(homes[i]) < nodeIndex(homes[j]) })
	return homes, nil
}

func nodeIndex(h string) int {
	i, _ := strconv.Atoi(filepath.Base(h)[len("node"):])
	return i
}

func contextOf(cmd *cobra.Command) context.Context {
	if ctx := cmd.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// safetyShares are the faulty ticket shares that init reports.
var safetyShares = []struct {
	name  string
	share float64
}{{"1/4", 0.25}, {"1/3", 1.0 / 3}}

// printSafety states the per-window safety bound of the chain's parameters
// (docs/spec.md §4.2) for the smallest window, S = min_batch_slots.
func printSafety(w io.Writer, p chain.Params) {
	s, m := int(p.MinBatchSlots), int(p.QuorumSize)
	fmt.Fprintf(w, "safety: a batch window of S = %d of M = %d slots is unsafe if faulty nodes hold ≥ 5/12 of it:\n", s, m)
	for _, b := range safetyShares {
		win, q := chain.SafetyBound(s, m, b.share)
		note := ""
		if q >= 1 {
			note = " (no guarantee: raise --min-batch-slots)"
		}
		fmt.Fprintf(w, "  faulty ticket share %s: %.2g per window, ≤ %.2g per quorum and epoch%s\n", b.name, win, q, note)
	}
	if s < m {
		fmt.Fprintf(w, "  (min_batch_slots = quorum_size = %d makes every window the whole quorum)\n", m)
	}
}

// safetyHelp gives the bound for the default parameters and for W = M, for
// init's help text.
func safetyHelp() string {
	p := chain.DefaultParams()
	m := int(p.QuorumSize)
	var b strings.Builder
	fmt.Fprintf(&b, "\n\nFor faulty ticket share b, per window and per quorum and epoch:\n")
	for _, c := range []struct {
		what string
		s    int
	}{{fmt.Sprintf("defaults, W = %d, M = %d:", p.MinBatchSlots, m), int(p.MinBatchSlots)}, {fmt.Sprintf("W = M = %d:", m), m}} {
		fmt.Fprintf(&b, "  %-28s", c.what)
		for _, sh := range safetyShares {
			win, q := chain.SafetyBound(c.s, m, sh.share)
			fmt.Fprintf(&b, "  b = %s: %.2g, ≤ %.2g", sh.name, win, q)
		}
		b.WriteString("\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}
