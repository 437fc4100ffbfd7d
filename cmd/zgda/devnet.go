package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/zgda/zgda/devnet"
	"github.com/zgda/zgda/engine"
)

func init() {
	def := devnet.DefaultConfig("")
	var dir, api, rpc, logLevel, engineConfig, device string
	var nodes int
	var fast, plainReads bool
	cmd := &cobra.Command{
		Use:   "devnet [--dir DIR] [--nodes N] [--api ADDR]",
		Short: "Run a whole zgda network in one process: chain, DA nodes, disperser and its HTTP API",
		Long: `devnet starts a single-validator CometBFT chain, N DA nodes (libp2p on
127.0.0.1, each with its own storage) and the disperser with its HTTP API,
all under one data directory, and prints the URLs to use. It runs until
interrupted (Ctrl-C) and then stops cleanly; running it again on the same
directory resumes where it stopped, and every blob accepted but not yet
certified is dispersed then.

The API is docs/spec.md §7: POST /v1/blobs, GET /v1/blobs/{key}/status,
GET /v1/blobs/{key}, …/commitments, GET /v1/batches/{root},
…/cells/{n}/{c}, the OP Stack alt-DA POST /put and GET /get/0x{commitment},
/healthz and /metrics. Once up, it prints the op-node and op-batcher flags
(--altda.enabled, --altda.da-server, --altda.da-service) that point an OP
Stack rollup at this API, with a curl example of /put and /get.
--engine-config reads the disperser's configuration (JSON, see
engine.Config) over the defaults.

The DA nodes and the disperser read the chain as they would over a remote
RPC: headers verified by CometBFT's light client from DIR/trust.json, every
answer by its state proofs (docs/spec.md §6). --plain-reads gives them the
chain's answers unverified instead.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				home, err := os.UserHomeDir()
				if err != nil {
					return fmt.Errorf("no --dir and no home directory: %w", err)
				}
				dir = filepath.Join(home, ".zgda", "devnet")
			}
			level, err := parseLevel(logLevel)
			if err != nil {
				return err
			}
			cfg := devnet.DefaultConfig(dir)
			cfg.Nodes, cfg.API, cfg.RPC, cfg.Fast, cfg.PlainReads = nodes, api, rpc, fast, plainReads
			cfg.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			c, err := chooseCodec(device, 0, io.Discard)
			if err != nil {
				return err
			}
			if c.gpu() {
				cfg.Backend, cfg.Committer = c.backend, c.committer
			}
			cfg.Logger.Info("codec", "device", c.desc)
			if engineConfig != "" {
				ec, err := engine.LoadConfig(engineConfig, "")
				if err != nil {
					return err
				}
				apiChanged := cmd.Flags().Changed("api")
				cfg.Engine = func(c *engine.Config) {
					storage := c.Storage // the devnet places the store
					*c = ec
					c.Storage = storage
					if apiChanged {
						c.API.Listen = api
					}
				}
			}
			ctx, stop := signal.NotifyContext(contextOf(cmd), os.Interrupt, syscall.SIGTERM)
			defer stop()
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "starting the devnet in %s …\n", dir)
			n, err := devnet.Start(ctx, cfg)
			if err != nil {
				return err
			}
			defer n.Close()
			applyMemoryLimit(cfg.Logger, n.MemoryBudget())
			how := "created"
			if n.Resumed() {
				how = "resumed"
			}
			writeDevnetBanner(w, how, len(n.Nodes()), n.Dir(), n.URL(), n.RPCAddress())
			<-ctx.Done()
			fmt.Fprintln(w, "stopping the devnet …")
			if err := n.Close(); err != nil {
				return fmt.Errorf("stopping: %w", err)
			}
			fmt.Fprintln(w, "stopped")
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", "", "data directory (default ~/.zgda/devnet); created on first use, resumed after")
	f.IntVar(&nodes, "nodes", 0, fmt.Sprintf("DA nodes of a new devnet (default %d; an existing one keeps its own)", def.Nodes))
	f.StringVar(&api, "api", def.API, "the disperser's HTTP listen address")
	f.StringVar(&rpc, "rpc", def.RPC, "the chain's CometBFT RPC listen address, for 'zgda serve' and tools (empty: off)")
	f.StringVar(&logLevel, "log-level", "warn", "log level: debug, info, warn or error")
	f.StringVar(&engineConfig, "engine-config", "", "JSON file with the disperser's configuration (engine.Config)")
	f.BoolVar(&fast, "fast", false, "test timings: blocks every few tens of milliseconds, short timeouts")
	f.BoolVar(&plainReads, "plain-reads", false, "the DA nodes and the disperser take the chain's answers unverified (no light client, no state proofs)")
	addDeviceFlag(cmd, &device)
	rootCmd.AddCommand(cmd)
}

// writeDevnetBanner prints what a running devnet serves and how to use it:
// the URLs, a curl round trip through the native API, and the op-node and
// op-batcher flags that make an OP Stack rollup use url as its alt-DA
// server (docs/spec.md §7). zgda makes generic commitments itself, hence
// --altda.da-service=true (op-alt-da posts to /put/ and reads the
// commitment back); verify-on-read checks only Keccak commitments.
func writeDevnetBanner(w io.Writer, how string, nodes int, dir, url, rpc string) {
	fmt.Fprintf(w, `zgda devnet %s: %d DA nodes, data in %s

  API        %s
  metrics    %s/metrics
  chain RPC  %s

Post a blob, follow it, read it back:
  key=$(echo 'hello, zgda' | curl -s --data-binary @- %s/v1/blobs | sed 's/.*"blob_key":"\([^"]*\)".*/\1/')
  curl -s %s/v1/blobs/$key/status
  curl -s %s/v1/blobs/$key

OP Stack alt-DA server: %s (POST /put, GET /get/0x…), generic commitments
(rollup config: "da_commitment_type": "GenericCommitment"). Point a rollup at it:
  op-node     --altda.enabled=true --altda.da-server=%s --altda.da-service=true --altda.verify-on-read=false
  op-batcher  --altda.enabled=true --altda.da-server=%s --altda.da-service=true
Put a frame and get it back by its commitment (/put answers once the blob is certified):
  comm=$(echo 'hello, rollup' | curl -s --data-binary @- %s/put | od -An -tx1 | tr -d ' \n')
  curl -s %s/get/0x$comm

Check a blob without trusting the RPC (light-client headers and state proofs
from the trust root %s/trust.json):
  zgda verify $key --trust %s/trust.json
  zgda sample $key --trust %s/trust.json
The DA nodes' proof-of-access scores of the last finished epoch: zgda pora

Ctrl-C stops; 'zgda devnet --dir %s' resumes.
`, how, nodes, dir, url, url, orNone(rpc), url, url, url, url, url, url, url, url, dir, dir, dir, dir)
}

// parseLevel parses a slog level name.
func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return l, fmt.Errorf("--log-level %q: want debug, info, warn or error", s)
	}
	return l, nil
}
