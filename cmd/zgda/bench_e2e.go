package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/zgda/zgda/bench"
	"github.com/zgda/zgda/chain"
	"github.com/zgda/zgda/devnet"
)

// bench e2e is a subcommand of bench (cmd/zgda/bench.go), attached here so
// that the engine's benchmark lives beside the engine's commands.
func init() {
	var posters, blobs, nodes, readers int
	var size, url, readSize string
	var asJSON, fast, plainReads bool
	var pora int
	var epochLength uint64
	cmd := &cobra.Command{
		Use:   "e2e [--posters N] [--size S] [--blobs N] [--url URL]",
		Short: "Post blobs to a devnet over HTTP and measure MB/s, latency to certified and bytes sent per byte posted",
		Long: `e2e starts a devnet in a temporary directory (or uses the disperser at
--url), has --posters clients post --blobs random blobs of --size bytes over
HTTP, follows each until it is certified on the chain, and reports MB/s
accepted (202) and certified, latency p50/p99 from the post to 202, to
certified, and from 202 to certified, the mean number of blobs in flight
(posted, not yet certified: by Little's law the mean latency is that many
blobs over the certified rate, and each poster always holds one), the
encode-only rate (the same blobs committed and encoded in batches, in this
process, just before), the batches the disperser cut, and the bytes of
dispersed rows and of batch headers sent to DA nodes per byte posted (from
the disperser's /metrics; ≈ 4 row bytes per byte when batches fill their
window, docs/spec.md §4.2). The target is e2e ≥ 70% of encode-only.
A row holds 126,976 bytes; blobs pack into R = ceil(L / 126,976) rows and
share batches, so every size costs about the same per byte.

--readers N adds read load: one blob of --read-size is posted and certified
first, then N light clients sample random cells of its batch from the
disperser for as long as the posters post. The report then says how many
reads and posts were refused (429) — reads have places of their own, so
posts should see none because of them — and the peak RSS of this process
beside the devnet's memory budget (Network.MemoryBudget: the disperser's
configured budget plus an allowance per DA node and for the chain).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			n, err := bench.ParseSize(size)
			if err != nil {
				return fmt.Errorf("--size: %w", err)
			}
			ctx, stop := signal.NotifyContext(contextOf(cmd), os.Interrupt, syscall.SIGTERM)
			defer stop()
			target := url
			var budget int64
			if target == "" {
				dir, err := os.MkdirTemp("", "zgda-bench-e2e-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(dir)
				cfg := devnet.DefaultConfig(dir)
				cfg.Nodes, cfg.API, cfg.RPC, cfg.Fast, cfg.PlainReads = nodes, "127.0.0.1:0", "", fast, plainReads
				if epochLength > 0 {
					cfg.EpochLength = epochLength
				}
				if pora >= 0 {
					cfg.Params = func(p *chain.Params) { p.PoRAChallenges = uint32(pora) }
				}
				net, err := devnet.Start(ctx, cfg)
				if err != nil {
					return err
				}
				defer net.Close()
				target = net.URL()
				budget = net.MemoryBudget()
			}
			rs := 0
			if readers > 0 {
				if rs, err = bench.ParseSize(readSize); err != nil {
					return fmt.Errorf("--read-size: %w", err)
				}
			}
			r, err := devnet.BenchE2E(ctx, target, devnet.BenchOptions{Posters: posters, Size: n, Blobs: blobs,
				Readers: readers, ReadSize: rs, MemoryBudget: budget})
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			m := bench.ThisMachine()
			if asJSON {
				e := json.NewEncoder(w)
				e.SetIndent("", "  ")
				return e.Encode(struct {
					Machine bench.Machine       `json:"machine"`
					Target  string              `json:"target"`
					Result  *devnet.BenchReport `json:"result"`
				}{m, target, r})
			}
			fmt.Fprintf(w, "e2e against %s on %s/%s, %d CPUs (%s), %s\n\n", target, m.OS, m.Arch, m.CPUs, m.CPUModel, m.GoVersion)
			return r.WriteTable(w)
		},
	}
	f := cmd.Flags()
	f.IntVar(&posters, "posters", 8, "concurrent posters")
	f.StringVar(&size, "size", "1MiB", "blob size (1MiB, 2031616, …)")
	f.IntVar(&blobs, "blobs", 32, "blobs to post in all")
	f.IntVar(&nodes, "nodes", 4, "DA nodes of the temporary devnet")
	f.StringVar(&url, "url", "", "benchmark a running disperser instead of a temporary devnet")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	f.BoolVar(&fast, "fast", false, "devnet with test timings (blocks every few tens of milliseconds)")
	f.BoolVar(&plainReads, "plain-reads", false, "the devnet's DA nodes and disperser take the chain's answers unverified")
	f.IntVar(&readers, "readers", 0, "light clients sampling random cells of one certified blob of --read-size while the posters post (0: none)")
	f.StringVar(&readSize, "read-size", "31MiB", "the size of the blob the readers sample")
	f.IntVar(&pora, "pora-challenges", -1, "proof-of-access challenges per DA node and epoch on the temporary devnet (0: off; -1: the chain's default)")
	f.Uint64Var(&epochLength, "epoch-length", 0, "blocks per epoch of the temporary devnet (0: the devnet's default)")
	for _, c := range rootCmd.Commands() {
		if c.Name() == "bench" {
			c.AddCommand(cmd)
			return
		}
	}
	panic("cmd/zgda: no bench command to attach e2e to")
}
