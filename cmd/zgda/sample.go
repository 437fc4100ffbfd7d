package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/zgda/zgda/chain"
	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/sampler"
)

// samplingFlags are the flags `sample` and `light` share.
type samplingFlags struct {
	rpc        string
	disperser  string
	samples    int
	confidence float64
	timeout    time.Duration
	logLevel   string
	trust      trustFlags
}

func (s *samplingFlags) add(cmd *cobra.Command) {
	def := sampler.DefaultConfig()
	f := cmd.Flags()
	f.StringVar(&s.rpc, "chain-rpc", "http://127.0.0.1:26657", "the chain's CometBFT RPC (the devnet's by default)")
	f.StringVar(&s.disperser, "disperser", "", "also ask the disperser's HTTP API (e.g. http://127.0.0.1:3100) for each cell no DA node served, and report its verified cells apart: they say whether the disperser still has the data, never that it is available (empty: DA nodes only)")
	f.IntVarP(&s.samples, "samples", "n", def.Samples, "cells to sample per batch; confidence is 1 − (5/8)^n (16 gives 0.99946)")
	f.Float64Var(&s.confidence, "confidence", 0, "sample as many cells as this confidence needs (e.g. 0.999999), instead of --samples")
	f.DurationVar(&s.timeout, "request-timeout", def.RequestTimeout, "bound on one request to one node")
	f.StringVar(&s.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	s.trust.add(cmd)
}

// open dials the chain and builds a Sampler (metrics on reg, if any).
func (s *samplingFlags) open(ctx context.Context, cmd *cobra.Command, log *slog.Logger, reg prometheus.Registerer) (*sampler.Sampler, chain.Client, error) {
	cfg := sampler.DefaultConfig()
	cfg.RequestTimeout = s.timeout
	cfg.Samples = s.samples
	if cmd.Flags().Changed("confidence") {
		if cmd.Flags().Changed("samples") {
			return nil, nil, errors.New("give --samples or --confidence, not both")
		}
		n, err := sampler.SamplesFor(s.confidence)
		if err != nil {
			return nil, nil, fmt.Errorf("--confidence: %w", err)
		}
		cfg.Samples = n
	}
	if err := cfg.ValidateBasic(); err != nil {
		return nil, nil, err
	}
	cl, err := s.trust.dial(ctx, s.rpc, log)
	if errors.Is(err, chain.ErrVerification) {
		return nil, nil, fmt.Errorf("--chain-rpc %s: %w", s.rpc, err)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("--chain-rpc %s: %w (is the chain running? `make devnet` serves http://127.0.0.1:26657)", s.rpc, err)
	}
	opts := []sampler.Option{sampler.WithLogger(log.With("component", "sampler"))}
	if s.disperser != "" {
		opts = append(opts, sampler.WithDisperser(s.disperser))
	}
	if reg != nil {
		opts = append(opts, sampler.WithRegisterer(reg))
	}
	smp, err := sampler.New(cl, cfg, opts...)
	if err != nil {
		cl.Close()
		return nil, nil, err
	}
	return smp, cl, nil
}

// errUnavailable makes `zgda sample` exit with status 2: the check ran and
// the blob's batch is not available (1 means the check itself failed).
type errUnavailable struct{ rep *sampler.Report }

func (e *errUnavailable) Error() string {
	msg := fmt.Sprintf("blob %s is NOT available: %d of %d samples of its batch %s failed, %d unanswered by the DA nodes",
		e.rep.Key, e.rep.Failed, len(e.rep.Samples), e.rep.BatchRoot, e.rep.Unanswered)
	if d := e.rep.Disperser; d != nil && d.Served > 0 {
		msg += fmt.Sprintf("; the disperser still has %d of those %d cells, which is no evidence that the DA nodes do", d.Served, e.rep.DisperserAsked())
	}
	return msg
}

func (e *errUnavailable) ExitCode() int { return 2 }

func init() {
	var sf samplingFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "sample BLOB_KEY [--samples N | --confidence C] [--json]",
		Short: "Check that a certified blob is available by sampling random cells of its batch from the DA nodes",
		Long: `sample is a one-off light-client check of one blob (docs/spec.md §3.5, §3.6).

A blob is available when the batch the chain certified it in can be
rebuilt, so sample checks that batch. It finds the batch on the chain (the
most recent one holding the key: its root, window and quorum), draws n
distinct cells of the batch's N × 128 grid (N = 4D dispersed rows for D data
rows) at random, asks a DA node holding each cell's row for it
(/zgda/cell/2.0.0), and verifies every cell's KZG proof (EIP-7594, in one
batch) against its row's commitment: a data row's from the batch header,
which must match the batch root, a parity row's derived from those. Nodes
that send wrong cells or a header of another batch are named as liars;
nodes that refuse or do not answer are named too.

The blob is available only if every sample is a cell a DA node served and
that verified. Confidence is 1 − (5/8)^n: an unrecoverable batch lacks more
than 3/8 of its cells.

--disperser also asks the disperser's HTTP API, after the DA nodes, for each
cell none of them served. Its cells are verified and reported apart (in the
text, and as "disperser_cells" and each sample's "disperser" in --json):
they say whether the disperser still has what the nodes withhold, and never
count towards the verdict or the confidence.

Exit status: 0 available, 2 not available, 1 the check could not be made
(unknown blob, chain unreachable, bad flags).`,
		Example: `  zgda sample 0x5b86…0e74
  zgda sample 0x5b86…0e74 --confidence 0.999999 --json
  zgda sample 0x5b86…0e74 --disperser http://127.0.0.1:3100`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			key, err := da.ParseBlobKey(args[0])
			if err != nil {
				return err
			}
			level, err := parseLevel(sf.logLevel)
			if err != nil {
				return err
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			ctx, stop := signal.NotifyContext(contextOf(cmd), os.Interrupt, syscall.SIGTERM)
			defer stop()
			smp, cl, err := sf.open(ctx, cmd, log, nil)
			if err != nil {
				return err
			}
			defer cl.Close()
			defer smp.Close()
			rep, err := smp.Sample(ctx, key)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return err
				}
			} else if err := rep.WriteText(w); err != nil {
				return err
			}
			if !rep.Available {
				return &errUnavailable{rep}
			}
			return nil
		},
	}
	sf.add(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	rootCmd.AddCommand(cmd)
}
