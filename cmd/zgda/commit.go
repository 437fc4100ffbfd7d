package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/zgda/zgda/kzg"
)

func init() {
	var asJSON, quiet bool
	var workers int
	var device string
	cmd := &cobra.Command{
		Use:   "commit FILE",
		Short: "Print a blob's key, length, row count and KZG commitments",
		Long: `commit encodes FILE with the zgda/v1 codec and prints what names it: the blob
key, its length L, its row count K and the commitments C_0 … C_{K-1} of its
data rows (each an EIP-4844 blob_to_kzg_commitment over Ethereum's trusted
setup). With --json the output is
  {"blob_key":"0x…","length":L,"rows":K,"commitments":["0x…",…]}`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := codecFor(cmd, device, workers, quiet)
			if err != nil {
				return err
			}
			e, err := encodeFile(cmd.Context(), args[0], c, workers, quiet)
			if err != nil {
				return err
			}
			out := struct {
				BlobKey     string           `json:"blob_key"`
				Length      int              `json:"length"`
				Rows        int              `json:"rows"`
				Commitments []kzg.Commitment `json:"commitments"`
			}{e.Key.String(), e.Params.Length, e.Params.K, e.DataCommitments()}
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
