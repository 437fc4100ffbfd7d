package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/zgda/zgda/sampler"
)

func init() {
	var sf samplingFlags
	var metrics string
	var from int64
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "light [--chain-rpc URL] [--from-height H] [--metrics ADDR] [--json]",
		Short: "Run a light client: follow the chain's certificates and sample every certified batch",
		Long: `light follows the chain block by block and, for every batch a
certificate records, runs the check of 'zgda sample' once: n random cells
of the batch's N × 128 grid fetched from the DA nodes and verified against
the rows' commitments. Only the DA nodes' cells count: with --disperser, the
cells the disperser serves for samples no node served are verified and
logged apart (disperser_has), never as availability.

The batch's verdict is each of its blobs': one log line per blob key
(available with its confidence, or UNAVAILABLE with the nodes that lied or
did not answer); --json also writes one JSON report per blob to stdout.
Prometheus metrics (samples by outcome, requests by result, batches and
blobs by verdict, check latency, the followed height) are served at
--metrics.

It starts at the next block unless --from-height says otherwise, and runs
until interrupted.`,
		Example: `  zgda light
  zgda light --from-height 1 --confidence 0.999999 --metrics 127.0.0.1:9470`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from < 0 {
				return fmt.Errorf("--from-height %d: want ≥ 1, or 0 for the next block", from)
			}
			level, err := parseLevel(sf.logLevel)
			if err != nil {
				return err
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			ctx, stop := signal.NotifyContext(contextOf(cmd), os.Interrupt, syscall.SIGTERM)
			defer stop()
			w := cmd.OutOrStdout()
			var reg prometheus.Registerer
			if metrics != "" {
				r, stopMetrics, err := serveMetrics(metrics, w)
				if err != nil {
					return fmt.Errorf("--metrics: %w", err)
				}
				defer stopMetrics()
				reg = r
			}
			smp, cl, err := sf.open(ctx, cmd, log, reg)
			if err != nil {
				return err
			}
			defer cl.Close()
			defer smp.Close()
			fmt.Fprintf(w, "zgda light: following chain %s at %s, %d samples per batch (confidence %.6f)\n",
				cl.ChainID(), sf.rpc, smp.Config().Samples, sampler.Confidence(smp.Config().Samples))
			var mu sync.Mutex // one JSON report at a time
			err = smp.Follow(ctx, from, func(c sampler.Checked) {
				if c.Err != nil {
					log.Error("blob not checked", "height", c.Height, "blob", c.Key, "batch", c.Root, "err", c.Err)
					return
				}
				logVerdict(log, c)
				if asJSON {
					mu.Lock()
					json.NewEncoder(w).Encode(c.Report)
					mu.Unlock()
				}
			})
			if errors.Is(err, ctx.Err()) && ctx.Err() != nil {
				fmt.Fprintln(w, "stopping")
				return nil
			}
			return err
		},
	}
	sf.add(cmd)
	f := cmd.Flags()
	f.StringVar(&metrics, "metrics", "", "serve Prometheus metrics on host:port (empty: off)")
	f.Int64Var(&from, "from-height", 0, "first block whose certificates to check (0: the next block)")
	f.BoolVar(&asJSON, "json", false, "also write each blob's report to stdout as one JSON line")
	rootCmd.AddCommand(cmd)
}

// logVerdict writes one blob's verdict (its batch's): info when available,
// warn with the culprits when not.
func logVerdict(log *slog.Logger, c sampler.Checked) {
	r := c.Report
	attrs := []any{"height", c.Height, "blob", c.Key, "batch", c.Root, "index", c.Index, "rows", r.Rows,
		"d", r.DataRows, "ok", r.OK, "failed", r.Failed, "unanswered", r.Unanswered, "elapsed", r.Elapsed.Round(1e6)}
	if liars := r.Liars(); len(liars) > 0 {
		attrs = append(attrs, "liars", nodeNames(r, liars))
	}
	if quiet := r.Unresponsive(); len(quiet) > 0 {
		attrs = append(attrs, "unresponsive", nodeNames(r, quiet))
	}
	if d := r.Disperser; d != nil {
		attrs = append(attrs, "disperser_has", fmt.Sprintf("%d/%d", d.Served, r.DisperserAsked()))
		if d.Lied() {
			attrs = append(attrs, "disperser_lied", d.Error)
		}
	}
	if r.Available {
		log.Info("blob available", append(attrs, "confidence", fmt.Sprintf("%.6f", r.Confidence))...)
		return
	}
	log.Warn("blob UNAVAILABLE", attrs...)
}

func nodeNames(r *sampler.Report, signers []int) []string {
	var out []string
	for _, s := range signers {
		for _, n := range r.Nodes {
			if n.Signer == s {
				out = append(out, n.Name)
			}
		}
	}
	return out
}
