package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/zgda/zgda/chain"
	"github.com/zgda/zgda/signer"
	"github.com/zgda/zgda/signer/node"
)

func init() {
	nodeCmd := &cobra.Command{
		Use:   "node",
		Short: "Run a DA node: verify, store, sign and serve slices",
	}

	var home, rpc, keystore, pwFile, kdf string
	var listen []string
	var trustFile string
	initCmd := &cobra.Command{
		Use:   "init --home DIR [--chain-rpc URL] [--keystore FILE] [--password-file FILE]",
		Short: "Create a DA node's home: config, libp2p identity, BLS keystore, storage volume",
		Long: `init writes DIR/config/node.json (edit it for volumes, limits and
addresses), an ed25519 libp2p identity (DIR/p2p/identity.key, mode 0600) and
the storage volume DIR/storage/vol0. The BLS key is a new EIP-2335 keystore
at DIR/keys/bls.json, encrypted under the password from --password-file (or
asked for on a terminal), unless --keystore points at an existing one.
With --password-file the node reads the password from that file on start.

The node's BLS public key must be registered on the chain before it can
sign: either put it in the genesis, or have the registrar register it
('zgda node start --registrar-keystore' does it on devnets).

--trust FILE copies the chain's trust root (the trust.json that 'zgda chain
start' and 'zgda devnet' write) into DIR/config/trust.json and sets
chain.trust_file: the node then verifies every chain answer (light-client
headers, state proofs; docs/spec.md §6 Verified reads) and refuses to sign
for a quorum it cannot prove.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if home == "" {
				return errors.New("--home is required")
			}
			cfgFile := filepath.Join(home, node.ConfigFile)
			if _, err := os.Stat(cfgFile); err == nil {
				return fmt.Errorf("%s exists: %s is already a node home", cfgFile, home)
			}
			cfg := node.DefaultConfig(home)
			if rpc != "" {
				cfg.Chain.RPC = rpc
			}
			if len(listen) > 0 {
				cfg.P2P.Listen = listen
			}
			if pwFile != "" {
				abs, err := filepath.Abs(pwFile)
				if err != nil {
					return err
				}
				cfg.Key.PasswordFile = abs
			} else {
				cfg.Key.PasswordFile = ""
			}
			var key *signer.Key
			if keystore != "" {
				abs, err := filepath.Abs(keystore)
				if err != nil {
					return err
				}
				pw, err := readPassword(cmd, pwFile, false)
				if err != nil {
					return err
				}
				if key, err = signer.LoadKeystoreFile(abs, pw); err != nil {
					return fmt.Errorf("--keystore: %w", err)
				}
				cfg.Key.Keystore = abs
			} else {
				opts, err := kdfOption(kdf)
				if err != nil {
					return err
				}
				if key, err = signer.GenerateKey(nil); err != nil {
					return err
				}
				pw, err := readPassword(cmd, pwFile, true)
				if err != nil {
					return err
				}
				raw, err := signer.EncryptKeystore(key, pw, opts...)
				if err != nil {
					return err
				}
				if err := os.MkdirAll(filepath.Dir(cfg.KeystorePath()), 0o700); err != nil {
					return err
				}
				if err := signer.WriteKeystoreFile(cfg.KeystorePath(), raw); err != nil {
					return err
				}
			}
			defer key.Zeroize()
			if err := cfg.ValidateBasic(); err != nil {
				return err
			}
			for _, v := range cfg.VolumePaths() {
				if err := os.MkdirAll(v, 0o700); err != nil {
					return err
				}
			}
			peerID, err := node.InitIdentity(filepath.Join(home, cfg.P2P.IdentityFile))
			if err != nil {
				return err
			}
			if trustFile != "" {
				root, err := chain.ReadTrustRoot(trustFile)
				if err != nil {
					return fmt.Errorf("--trust: %w", err)
				}
				cfg.Chain.TrustFile = filepath.Join("config", chain.TrustFile)
				if err := os.MkdirAll(filepath.Join(home, "config"), 0o700); err != nil {
					return err
				}
				if err := chain.WriteTrustRoot(filepath.Join(home, cfg.Chain.TrustFile), root); err != nil {
					return err
				}
			}
			if err := node.WriteConfig(home, cfg); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "initialized DA node home %s\n", home)
			fmt.Fprintf(w, "config      %s\n", cfgFile)
			fmt.Fprintf(w, "keystore    %s\n", cfg.KeystorePath())
			fmt.Fprintf(w, "pubkey      %s\n", key.PublicKey())
			fmt.Fprintf(w, "pop         %s\n", key.ProvePossession())
			fmt.Fprintf(w, "peer id     %s\n", peerID)
			fmt.Fprintf(w, "chain rpc   %s\n", cfg.Chain.RPC)
			if cfg.Chain.TrustFile != "" {
				fmt.Fprintf(w, "trust root  %s (every chain answer verified)\n", filepath.Join(home, cfg.Chain.TrustFile))
			} else {
				fmt.Fprintln(w, "trust root  none: the node believes its chain RPC (pass --trust FILE to verify)")
			}
			return nil
		},
	}
	initCmd.Flags().StringVar(&home, "home", "", "the node's home directory (created)")
	initCmd.Flags().StringVar(&trustFile, "trust", "", "the chain's trust file (from 'zgda chain start' or 'zgda devnet'): verify every chain answer")
	initCmd.Flags().StringVar(&rpc, "chain-rpc", "", "the chain's RPC address (default "+node.DefaultChainConfig().RPC+")")
	initCmd.Flags().StringSliceVar(&listen, "listen", nil, "libp2p listen multiaddrs (default "+strings.Join(node.DefaultP2PConfig().Listen, ",")+")")
	initCmd.Flags().StringVar(&keystore, "keystore", "", "use this existing EIP-2335 keystore instead of generating a key")
	initCmd.Flags().StringVar(&pwFile, "password-file", "", "the keystore password (first line); the node reads it on start")
	initCmd.Flags().StringVar(&kdf, "kdf", "scrypt", "key derivation of a new keystore: scrypt or pbkdf2")

	var sHome, sRPC, sPwFile, metricsAddr, logLevel, regKeystore, regPwFile string
	startCmd := &cobra.Command{
		Use:   "start --home DIR",
		Short: "Run the DA node of a home made by 'zgda node init'",
		Long: `start loads DIR/config/node.json and the BLS keystore, connects to the
chain, registers the node's libp2p addresses there if they changed, submits
its VRF output every epoch and serves dispersal, row and cell requests until
interrupted (Ctrl-C). Flags override the config file. With
--registrar-keystore it registers a signer the chain does not know yet
(devnets; elsewhere the registrar does that).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if sHome == "" {
				return errors.New("--home is required")
			}
			cfg, err := node.LoadConfig(sHome)
			if err != nil {
				return err
			}
			if sRPC != "" {
				cfg.Chain.RPC = sRPC
			}
			if sPwFile != "" {
				cfg.Key.PasswordFile = sPwFile
			}
			if metricsAddr != "" {
				cfg.Metrics.Listen = metricsAddr
			}
			var lvl slog.Level
			if err := lvl.UnmarshalText([]byte(logLevel)); err != nil {
				return fmt.Errorf("--log-level: %w", err)
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: lvl}))

			pw, err := readPassword(cmd, cfg.PasswordPath(), false)
			if err != nil {
				return fmt.Errorf("key.password_file: %w", err)
			}
			key, err := signer.LoadKeystoreFile(cfg.KeystorePath(), pw)
			if err != nil {
				return fmt.Errorf("key.keystore: %w", err)
			}
			defer key.Zeroize()
			opts := []node.Option{node.WithLogger(log)}
			if regKeystore != "" {
				rpw, err := readPassword(cmd, regPwFile, false)
				if err != nil {
					return fmt.Errorf("--registrar-password-file: %w", err)
				}
				reg, err := signer.LoadKeystoreFile(regKeystore, rpw)
				if err != nil {
					return fmt.Errorf("--registrar-keystore: %w", err)
				}
				defer reg.Zeroize()
				opts = append(opts, node.WithRegistrar(reg))
			}
			ctx, stop := signal.NotifyContext(contextOf(cmd), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if cfg.Metrics.Listen != "" {
				reg, stopMetrics, err := serveMetrics(cfg.Metrics.Listen, cmd.OutOrStdout())
				if err != nil {
					return fmt.Errorf("metrics.listen: %w", err)
				}
				defer stopMetrics()
				opts = append(opts, node.WithRegisterer(reg))
			}
			sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
			nd, err := node.Start(sctx, cfg, key, opts...)
			cancel()
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "DA node %s started: signer %d, peer %s\n", key.PublicKey(), nd.Index(), nd.PeerID())
			for _, a := range nd.Addrs() {
				fmt.Fprintf(w, "listening %s\n", a)
			}
			<-ctx.Done()
			fmt.Fprintln(w, "stopping")
			return nd.Close()
		},
	}
	startCmd.Flags().StringVar(&sHome, "home", "", "home made by 'zgda node init'")
	startCmd.Flags().StringVar(&sRPC, "chain-rpc", "", "override chain.rpc")
	startCmd.Flags().StringVar(&sPwFile, "password-file", "", "override key.password_file")
	startCmd.Flags().StringVar(&metricsAddr, "metrics", "", "serve Prometheus metrics on host:port (overrides metrics.listen)")
	startCmd.Flags().StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	startCmd.Flags().StringVar(&regKeystore, "registrar-keystore", "", "register this node with the registrar's key if the chain does not know it (devnets)")
	startCmd.Flags().StringVar(&regPwFile, "registrar-password-file", "", "the registrar keystore's password")

	nodeCmd.AddCommand(initCmd, startCmd)
	rootCmd.AddCommand(nodeCmd)
}
