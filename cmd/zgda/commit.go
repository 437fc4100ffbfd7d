package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/kzg"
)

func init() {
	var asJSON, quiet bool
	var workers int
	var device string
	cmd := &cobra.Command{
		Use:   "commit FILE",
		Short: "Print a blob's key, length, row count and KZG commitments",
		Long: `commit packs FILE with the zgda/v2 codec and prints what names it: the blob
key, its length L, its row count R = ceil(L / 126976) and the commitments
C_0 … C_{R-1} of its rows (each an EIP-4844 blob_to_kzg_commitment over
Ethereum's trusted setup). With --json the output is
  {"blob_key":"0x…","length":L,"rows":R,"commitments":["0x…",…]}`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := codecFor(cmd, device, workers, quiet)
			if err != nil {
				return err
			}
			enc, err := encoder.New(encoder.WithBackend(c.backend), encoder.WithWorkers(workers))
			if err != nil {
				return err
			}
			raw, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			progress, done := progressPrinter(quiet)
			b, err := enc.CommitBlob(cmd.Context(), committerFor(c, workers), raw, progress)
			done()
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			out := struct {
				BlobKey     string           `json:"blob_key"`
				Length      int              `json:"length"`
				Rows        int              `json:"rows"`
				Commitments []kzg.Commitment `json:"commitments"`
			}{b.Key.String(), b.Length, len(b.Rows), b.Commitments}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(out)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "blob_key  %s\nlength    %d\nrows      %d\n", out.BlobKey, out.Length, out.Rows)
			for i, c := range out.Commitments {
				fmt.Fprintf(w, "C_%-7d %s\n", i, c)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of text")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress on the terminal")
	cmd.Flags().IntVar(&workers, "workers", 0, "goroutines to use (0 = all CPUs)")
	addDeviceFlag(cmd, &device)
	rootCmd.AddCommand(cmd)
}
