// Command zgda is the one binary of the zgda data-availability engine.
//
// This package only wires: each subcommand lives in its own file and adds
// itself to the root command from an init function, so the logic it calls
// stays in the packages a test can reach.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

var rootCmd = &cobra.Command{
	Use:   "zgda",
	Short: "zgda: a data-availability and erasure-coding engine",
	Long: `zgda packs the blobs that arrive together into one batch matrix and
erasure-codes it with the zgda/v2 codec (EIP-4844 rows, EIP-7594 cells;
docs/spec.md), commits to it with KZG over Ethereum's trusted setup,
disperses its rows to DA nodes and records their certificate on a CometBFT
chain.

Start with 'zgda devnet' for the whole network on this machine, 'zgda commit
FILE' to see a blob's key and commitments, or 'zgda encode FILE --out DIR' and
'zgda decode DIR --out FILE' for a round trip. 'zgda sample BLOB_KEY' and
'zgda light' check that certified blobs are available without downloading
them.`,
	SilenceUsage:  true,
	SilenceErrors: true,
}

func main() {
	if err := rootCmd.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "zgda:", err)
		var ec interface{ ExitCode() int }
		if errors.As(err, &ec) {
			os.Exit(ec.ExitCode())
		}
		os.Exit(1)
	}
}
