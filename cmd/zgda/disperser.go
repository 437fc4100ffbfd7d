package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/zgda/zgda/bench"
	"github.com/zgda/zgda/chain"
	"github.com/zgda/zgda/internal/p2pkey"
	"github.com/zgda/zgda/signer"
)

// parseDisperserKey reads a disperser's key given as its libp2p peer id
// (12D3Koo…) or as 0x and 64 hex digits (docs/spec.md §5 Dispersers).
func parseDisperserKey(s string) (chain.DisperserKey, error) {
	if strings.HasPrefix(s, "0x") {
		var k chain.DisperserKey
		return k, k.UnmarshalText([]byte(s))
	}
	raw, err := p2pkey.ParsePeerID(s)
	return chain.DisperserKey(raw), err
}

// parseQuota reads a quota: bytes, or a size with a unit (64GiB).
func parseQuota(s string) (uint64, error) {
	if s == "0" {
		return 0, nil
	}
	n, err := bench.ParseSize(s)
	if err != nil {
		return 0, fmt.Errorf("quota %q: want bytes or a size such as 64GiB (0 revokes)", s)
	}
	return uint64(n), nil
}

// registerDisperserCmd: the registrar registers a disperser or sets its
// quota.
func registerDisperserCmd() *cobra.Command {
	var rpc, regKeystore, regPwFile, quota string
	cmd := &cobra.Command{
		Use:   "register-disperser PEER_ID|0xKEY --quota BYTES --chain-rpc URL --registrar-keystore FILE",
		Short: "Register a disperser, or change its quota, with the registrar's key",
		Long: `register-disperser submits a disperser registration (docs/spec.md §6): DA
nodes take dispersals only from a registered disperser's libp2p identity, and
only up to its quota of data-row bytes (D × 131072 per batch) per epoch.
Give the disperser by the peer id 'zgda serve' prints, or by its raw ed25519
key (0x…). --quota 0 revokes it. The transaction carries the next nonce of
the key's record, read from the chain, and needs the registrar's keystore.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			key, err := parseDisperserKey(args[0])
			if err != nil {
				return err
			}
			if quota == "" {
				return fmt.Errorf("--quota is required (bytes per epoch; 0 revokes)")
			}
			q, err := parseQuota(quota)
			if err != nil {
				return fmt.Errorf("--quota: %w", err)
			}
			if rpc == "" || regKeystore == "" {
				return fmt.Errorf("--chain-rpc and --registrar-keystore are required")
			}
			pw, err := readPassword(cmd, regPwFile, false)
			if err != nil {
				return fmt.Errorf("--registrar-password-file: %w", err)
			}
			reg, err := signer.LoadKeystoreFile(regKeystore, pw)
			if err != nil {
				return fmt.Errorf("--registrar-keystore: %w", err)
			}
			defer reg.Zeroize()
			ctx, cancel := context.WithTimeout(contextOf(cmd), 2*time.Minute)
			defer cancel()
			cl, err := chain.Dial(ctx, rpc)
			if err != nil {
				return fmt.Errorf("--chain-rpc %s: %w", rpc, err)
			}
			defer cl.Close()
			nonce, res, err := chain.RegisterDisperser(ctx, cl, key, q, reg)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "disperser %s: quota %d bytes per epoch (nonce %d, block %d)\n", key, q, nonce, res.Height)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&quota, "quota", "", "data-row bytes per epoch (e.g. 64GiB); 0 revokes")
	f.StringVar(&rpc, "chain-rpc", "", "the chain's CometBFT RPC URL")
	f.StringVar(&regKeystore, "registrar-keystore", "", "the registrar's BLS keystore")
	f.StringVar(&regPwFile, "registrar-password-file", "", "the registrar keystore's password (first line)")
	return cmd
}
