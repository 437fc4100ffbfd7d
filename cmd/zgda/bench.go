package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/zgda/zgda/bench"
)

func init() {
	var asJSON bool
	var plot, sizes, device string
	var minTime time.Duration
	var workers, batchBlobs int
	cmd := &cobra.Command{
		Use:   "bench [kzg|encode|rs|all]",
		Short: "Measure encoding, commitment and Reed–Solomon throughput beside their anchors",
		Long: `bench runs zgda's benchmarks, each beside its anchor in the same process and
interleaved run by run, so the ratio holds on a noisy machine:

  kzg     one row's commitment and its 128 cells + proofs, zgda vs go-eth-kzg
  encode  the zgda/v2 encode (EncodeBatch): one blob per size (default 1, 8
          and 31 MiB) and a batch of --batch-blobs one-row blobs; "extend+commit"
          packs and commits every row too, "extend+derive" extends the batch
          matrix ×4 and derives the parity commitments
  rs      the storage layer's byte-level Reed–Solomon (klauspost)
  all     all of the above (the default)

It prints a table (or --json) with the machine it ran on, and --plot FILE.svg
draws throughput against size. The end-to-end benchmark against a devnet
comes with the engine.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			suite := "all"
			if len(args) == 1 {
				suite = args[0]
			}
			c, err := chooseCodec(device, workers, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			opts := bench.Options{MinTime: minTime, Workers: workers, Backend: c.backend, Device: c.desc, BatchBlobs: batchBlobs}
			if c.committer != nil {
				opts.Committer = c.committer
			}
			if sizes != "" {
				for _, s := range strings.Split(sizes, ",") {
					n, err := bench.ParseSize(strings.TrimSpace(s))
					if err != nil {
						return err
					}
					opts.Sizes = append(opts.Sizes, n)
				}
			}
			if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
				opts.Progress = func(msg string) { fmt.Fprintf(os.Stderr, "\r\033[K%s", msg) }
				defer fmt.Fprint(os.Stderr, "\r\033[K")
			}
			rep, err := bench.Run(cmd.Context(), suite, opts)
			if err != nil {
				return err
			}
			if plot != "" {
				f, err := os.Create(plot)
				if err != nil {
					return err
				}
				if err := bench.WriteSVG(f, rep); err != nil {
					f.Close()
					return err
				}
				if err := f.Close(); err != nil {
					return err
				}
			}
			if asJSON {
				return bench.WriteJSON(cmd.OutOrStdout(), rep)
			}
			return bench.WriteTable(cmd.OutOrStdout(), rep)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	cmd.Flags().StringVar(&plot, "plot", "", "also write an SVG plot of MB/s against size to this file")
	cmd.Flags().StringVar(&sizes, "sizes", "", "blob sizes for the encode suite, e.g. 1MiB,8MiB,31MiB (the default)")
	cmd.Flags().IntVar(&batchBlobs, "batch-blobs", 64, "one-row (126,976-byte) blobs in the encode suite's batch (negative: none)")
	cmd.Flags().DurationVar(&minTime, "min-time", 2*time.Second, "minimum time to spend on each measured operation")
	cmd.Flags().IntVar(&workers, "workers", 0, "goroutines to use (0 = all CPUs)")
	addDeviceFlag(cmd, &device)
	rootCmd.AddCommand(cmd)
}
