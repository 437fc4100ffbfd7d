package main

import (
	"fmt"
	"os"
	"sort"

	"github.com/spf13/cobra"

	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/kzg"
)

func init() {
	var out string
	var quiet bool
	var workers int
	var device string
	encodeCmd := &cobra.Command{
		Use:   "encode FILE --out DIR",
		Short: "Erasure-code a blob into its 4K extended rows and their commitments",
		Long: `encode writes FILE's zgda/v1 encoding into DIR: manifest.json (blob key,
length, K and the commitments of all 4K extended rows) and one file per
extended row (row-NNNN.bin, 4096 32-byte field elements). Any K of the 4K row
files are enough for 'zgda decode' to rebuild FILE.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return fmt.Errorf("--out DIR is required")
			}
			c, err := codecFor(cmd, device, workers, quiet)
			if err != nil {
				return err
			}
			e, err := encodeFile(cmd.Context(), args[0], c, workers, quiet)
			if err != nil {
				return err
			}
			if err := encoder.WriteDir(out, e); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "blob_key %s\nwrote %d rows (K=%d, any %d rebuild the blob) to %s\n",
				e.Key, len(e.Rows), e.Params.K, e.Params.K, out)
			return nil
		},
	}
	encodeCmd.Flags().StringVar(&out, "out", "", "directory to write (created if needed)")
	encodeCmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress on the terminal")
	encodeCmd.Flags().IntVar(&workers, "workers", 0, "goroutines to use (0 = all CPUs)")
	addDeviceFlag(encodeCmd, &device)
	rootCmd.AddCommand(encodeCmd)

	var outFile string
	var dQuiet bool
	var dWorkers int
	var dDevice string
	decodeCmd := &cobra.Command{
		Use:   "decode DIR --out FILE",
		Short: "Rebuild a blob from whatever extended rows of an encoded directory remain",
		Long: `decode reads a directory written by 'zgda encode', checks every row file
against its commitment (damaged or tampered rows are reported and left out)
and rebuilds the blob from any K good rows, writing exactly the bytes that
were encoded. If too few good rows remain it says which rows are missing.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if outFile == "" {
				return fmt.Errorf("--out FILE is required")
			}
			dir, err := encoder.ReadDir(args[0])
			if err != nil {
				return err
			}
			damaged := make([]int, 0, len(dir.Damaged))
			for j := range dir.Damaged {
				damaged = append(damaged, j)
			}
			sort.Ints(damaged)
			for _, j := range damaged {
				fmt.Fprintf(cmd.ErrOrStderr(), "warning: %s: %v; left out\n", encoder.RowFileName(j), dir.Damaged[j])
			}
			c, err := codecFor(cmd, dDevice, dWorkers, dQuiet)
			if err != nil {
				return err
			}
			enc, err := encoder.New(encoder.WithBackend(c.backend), encoder.WithWorkers(dWorkers))
			if err != nil {
				return err
			}
			progress, done := progressPrinter(dQuiet)
			blob, rejected, err := enc.DecodeBlob(cmd.Context(), kzg.NewContext(kzg.WithWorkers(dWorkers)),
				dir.Manifest.Length, dir.Data, dir.Rows, progress)
			done()
			for _, j := range rejected {
				fmt.Fprintf(cmd.ErrOrStderr(), "warning: %s does not match its commitment; left out\n", encoder.RowFileName(j))
			}
			if err != nil {
				return err
			}
			if err := os.WriteFile(outFile, blob, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "blob_key %s\nrebuilt %d bytes from %d of %d rows into %s\n",
				dir.Manifest.BlobKey, len(blob), len(dir.Rows)-len(rejected), dir.Manifest.ExtendedRows, outFile)
			return nil
		},
	}
	decodeCmd.Flags().StringVar(&outFile, "out", "", "file to write the blob to")
	decodeCmd.Flags().BoolVarP(&dQuiet, "quiet", "q", false, "no progress on the terminal")
	decodeCmd.Flags().IntVar(&dWorkers, "workers", 0, "goroutines to use (0 = all CPUs)")
	addDeviceFlag(decodeCmd, &dDevice)
	rootCmd.AddCommand(decodeCmd)
}
