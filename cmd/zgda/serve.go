package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/spf13/cobra"

	"github.com/zgda/zgda/chain"
	"github.com/zgda/zgda/dispersal"
	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/engine"
	"github.com/zgda/zgda/internal/p2pkey"
	"github.com/zgda/zgda/kzg"
)

func init() {
	var home, rpc, api, configFile, logLevel, device, identity string
	var tf trustFlags
	cmd := &cobra.Command{
		Use:   "serve --home DIR --chain-rpc URL [--api ADDR] [--config FILE]",
		Short: "Run the disperser alone against an external chain and its registered DA nodes",
		Long: `serve runs the disperser and its HTTP API (docs/spec.md §7): it takes
blobs, commits them, batches them into one erasure-coded matrix per batch,
disperses each batch to the DA nodes registered on the chain at --chain-rpc,
and submits its certificate there. Its store lives
under DIR (DIR/storage/meta and the volume DIR/storage/vol0, created on first
use); --config reads the disperser's configuration (JSON, engine.Config)
over the defaults, and flags override it. Blobs accepted but not certified
when it stops are dispersed when it starts again.

DA nodes take dispersals only from a registered disperser (docs/spec.md §5):
serve dials them as the libp2p identity in --identity (DIR/p2p/identity.key,
created on first use, mode 0600) and prints its peer id; the chain's
registrar registers it ('zgda chain register-disperser PEER_ID --quota …', or
'zgda chain init --disperser PEER_ID'). Unregistered, serve still serves
reads of certified blobs, and its dispersals are refused.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if home == "" {
				return errors.New("--home is required")
			}
			if rpc == "" {
				return errors.New("--chain-rpc is required (the chain's CometBFT RPC, e.g. http://127.0.0.1:26657)")
			}
			level, err := parseLevel(logLevel)
			if err != nil {
				return err
			}
			cfg := engine.DefaultConfig(home)
			if configFile != "" {
				if cfg, err = engine.LoadConfig(configFile, home); err != nil {
					return err
				}
			}
			if cmd.Flags().Changed("api") || configFile == "" {
				cfg.API.Listen = api
			}
			if err := cfg.ValidateBasic(); err != nil {
				return err
			}
			if configFile == "" {
				// A fresh home gets its default volume; configured volumes
				// must exist (an unmounted disk is not an empty one).
				if _, err := os.Stat(cfg.Storage.Dir); errors.Is(err, os.ErrNotExist) {
					for _, v := range cfg.Storage.Volumes {
						if err := os.MkdirAll(v, 0o700); err != nil {
							return err
						}
					}
				}
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			applyMemoryLimit(log, cfg.MemoryBudget())
			ctx, stop := signal.NotifyContext(contextOf(cmd), os.Interrupt, syscall.SIGTERM)
			defer stop()

			cl, err := tf.dial(ctx, rpc, log)
			if err != nil {
				return fmt.Errorf("--chain-rpc %s: %w", rpc, err)
			}
			defer cl.Close()
			if identity == "" {
				identity = filepath.Join(home, "p2p", "identity.key")
			}
			id, err := p2pkey.Load(identity)
			if err != nil {
				return fmt.Errorf("--identity: %w", err)
			}
			checkDisperser(ctx, log, cl, id)
			if err := kzg.Default().Warm(); err != nil {
				return err
			}
			d, err := dispersal.New(cl, dispersal.DefaultConfig(), dispersal.WithIdentity(id), dispersal.WithLogger(log.With("component", "dispersal")))
			if err != nil {
				return err
			}
			defer d.Close()
			c, err := chooseCodec(device, cfg.Encoder.Workers, io.Discard)
			if err != nil {
				return err
			}
			log.Info("codec", "device", c.desc)
			enc, err := encoder.New(encoder.WithBackend(c.backend), encoder.WithWorkers(cfg.Encoder.Workers))
			if err != nil {
				return err
			}
			e, err := engine.New(cfg, d, cl, engine.WithLogger(log.With("component", "engine")),
				engine.WithEncoder(enc), engine.WithCommitter(c.committerOr(kzg.Default())))
			if err != nil {
				return err
			}
			if err := e.Start(ctx); err != nil {
				e.Close()
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "zgda serve: chain %s at %s, API http://%s (metrics at /metrics), disperser peer %s\n",
				cl.ChainID(), rpc, e.APIAddr(), p2pkey.PeerID(id))
			<-ctx.Done()
			fmt.Fprintln(w, "stopping")
			return e.Close()
		},
	}
	f := cmd.Flags()
	f.StringVar(&home, "home", "", "the disperser's data directory")
	f.StringVar(&rpc, "chain-rpc", "", "the chain's CometBFT RPC URL")
	f.StringVar(&api, "api", engine.DefaultAPIConfig().Listen, "HTTP listen address (overrides the config file's api.listen)")
	f.StringVar(&configFile, "config", "", "JSON file with the disperser's configuration (engine.Config)")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	tf.add(cmd)
	f.StringVar(&identity, "identity", "", "the disperser's libp2p identity file (default DIR/p2p/identity.key)")
	addDeviceFlag(cmd, &device)
	rootCmd.AddCommand(cmd)
}

// checkDisperser logs the disperser's identity and whether the chain
// registers it: unregistered, every dispersal would be refused.
func checkDisperser(ctx context.Context, log *slog.Logger, cl chain.Client, id crypto.PrivKey) {
	key := chain.DisperserKey(p2pkey.PublicKey(id))
	peerID := p2pkey.PeerID(id)
	info, err := cl.Disperser(ctx, key)
	switch {
	case chain.IsNotFound(err) || err == nil && info.Quota == 0:
		log.Warn("this disperser is not registered on the chain: DA nodes will refuse its dispersals until the registrar registers it",
			"peer", peerID, "key", key, "register_with", "zgda chain register-disperser "+peerID+" --quota 64GiB --chain-rpc URL --registrar-keystore FILE")
	case err != nil:
		log.Warn("reading the disperser registry", "err", err)
	default:
		log.Info("registered disperser", "peer", peerID, "key", key, "quota_bytes_per_epoch", info.Quota)
	}
}
