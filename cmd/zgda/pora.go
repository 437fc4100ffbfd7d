package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/zgda/zgda/chain"
)

func init() {
	var rpc string
	var epoch int64
	var asJSON bool
	var tf trustFlags
	cmd := &cobra.Command{
		Use:   "pora [--chain-rpc URL] [--epoch N] [--json]",
		Short: "Show the DA nodes' proof-of-random-access scores for an epoch",
		Long: `pora prints, for one epoch (--epoch; default: the last finished one), each
challenged signer's proof-of-access record (docs/spec.md §6 Proofs of random
access): challenges drawn, answered in time (each a reward point), late,
missing and invalid. Scores of the current epoch are still moving: missing
challenges are counted when the next epoch opens.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(contextOf(cmd), time.Minute)
			defer cancel()
			cl, err := tf.dial(ctx, rpc, nil)
			if err != nil {
				return fmt.Errorf("--chain-rpc %s: %w", rpc, err)
			}
			defer cl.Close()
			e := uint64(epoch)
			if epoch < 0 {
				st, err := cl.Status(ctx)
				if err != nil {
					return err
				}
				if st.Epoch == 0 {
					return fmt.Errorf("no epoch has finished yet (the chain is in epoch 0): pass --epoch 0 for the running one")
				}
				e = st.Epoch - 1
			}
			scores, err := cl.Scores(ctx, e)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if asJSON {
				if scores == nil {
					scores = []chain.Score{}
				}
				return json.NewEncoder(w).Encode(scores)
			}
			if len(scores) == 0 {
				fmt.Fprintf(w, "epoch %d: no signer was challenged (no certified batch in the availability window, or pora_challenges is 0)\n", e)
				return nil
			}
			fmt.Fprintf(w, "epoch %d\n", e)
			tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "signer\tchallenged\tin time\tlate\tmissing\tinvalid\tpoints\t")
			for _, s := range scores {
				fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", s.Signer, s.Challenged, s.InTime, s.Late, s.Missing, s.Invalid, s.Points)
			}
			return tw.Flush()
		},
	}
	f := cmd.Flags()
	f.StringVar(&rpc, "chain-rpc", "http://127.0.0.1:26657", "the chain's CometBFT RPC (the devnet's by default)")
	f.Int64Var(&epoch, "epoch", -1, "the epoch (default: the last finished one)")
	f.BoolVar(&asJSON, "json", false, "print the scores as JSON")
	tf.add(cmd)
	rootCmd.AddCommand(cmd)
}
