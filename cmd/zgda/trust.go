package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/zgda/zgda/chain"
)

// trustFlags say what a command trusts of the chain (docs/spec.md §6
// Verified reads): a trust file, or a chain id with a trusted height and
// header hash. With one, every chain answer is verified (light-client
// headers, ICS-23 proofs); without, the RPC is believed.
type trustFlags struct {
	file      string
	chainID   string
	height    int64
	hash      string
	witnesses []string
}

func (t *trustFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&t.file, "trust", "", "trust file (chain id, height, header hash) that 'zgda devnet' and 'zgda chain start' write: every chain answer is then verified against headers that chain to it")
	f.StringVar(&t.chainID, "chain-id", "", "with --trust-height and --trust-hash: the chain id to pin")
	f.Int64Var(&t.height, "trust-height", 0, "height of a header to trust (with --trust-hash and --chain-id)")
	f.StringVar(&t.hash, "trust-hash", "", "hex hash of the header at --trust-height")
	f.StringArrayVar(&t.witnesses, "witness", nil, "another RPC of the same chain the light client cross-checks headers with (repeatable)")
}

// root is the trust root the flags give (nil: none).
func (t *trustFlags) root() (*chain.TrustRoot, error) {
	switch {
	case t.file != "" && (t.height != 0 || t.hash != ""):
		return nil, fmt.Errorf("give --trust FILE or --trust-height/--trust-hash, not both")
	case t.file != "":
		return chain.ReadTrustRoot(t.file)
	case t.height == 0 && t.hash == "":
		return nil, nil
	}
	r := &chain.TrustRoot{ChainID: t.chainID, Height: t.height, Hash: t.hash}
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("--chain-id/--trust-height/--trust-hash: %w", err)
	}
	return r, nil
}

// dial connects to rpc, verified when the flags give a trust root; without
// one it says, at warn level, that the RPC is believed.
func (t *trustFlags) dial(ctx context.Context, rpc string, log *slog.Logger) (chain.Client, error) {
	r, err := t.root()
	if err != nil {
		return nil, err
	}
	if r == nil {
		if log != nil {
			log.Warn("reading the chain unverified: the RPC is believed; pass --trust FILE to verify every answer", "rpc", rpc)
		}
		return chain.Dial(ctx, rpc)
	}
	return chain.DialVerified(ctx, rpc, *r, t.witnesses...)
}
