package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
	"github.com/spf13/cobra"

	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/kzg"
)

// committerFor is the codec's row committer, or kzg on the CPU.
func committerFor(c *codec, workers int) encoder.Committer {
	if c.committer != nil {
		return c.committer
	}
	return kzg.NewContext(kzg.WithWorkers(workers))
}

func init() {
	var out string
	var quiet bool
	var workers int
	var device string
	encodeCmd := &cobra.Command{
		Use:   "encode FILE... --out DIR",
		Short: "Erasure-code files as one batch into its dispersed rows",
		Long: `encode puts the FILEs, in argument order, into one zgda/v2 batch and writes
it into DIR: manifest.json (the batch header: every blob's key, length, row
count R and commitments; D = ΣR data rows, K and N = 4D; the batch root) and
one file per dispersed row (row-NNNN.bin, 4096 32-byte field elements). Any
D of the N row files are enough for 'zgda decode' to rebuild every FILE.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return fmt.Errorf("--out DIR is required")
			}
			c, err := codecFor(cmd, device, workers, quiet)
			if err != nil {
				return err
			}
			enc, err := encoder.New(encoder.WithBackend(c.backend), encoder.WithWorkers(workers))
			if err != nil {
				return err
			}
			cm := committerFor(c, workers)
			progress, done := progressPrinter(quiet)
			defer done()
			var blobs []*encoder.Blob
			for _, path := range args {
				raw, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				b, err := enc.CommitBlob(cmd.Context(), cm, raw, progress)
				if err != nil {
					return fmt.Errorf("%s: %w", path, err)
				}
				blobs = append(blobs, b)
			}
			batch, err := enc.EncodeBatch(cmd.Context(), cm, blobs, progress)
			done()
			if err != nil {
				return err
			}
			defer batch.Release()
			if err := encoder.WriteDir(out, batch); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "batch_root %s\n", batch.Root)
			for i, b := range batch.Blobs {
				fmt.Fprintf(w, "blob %d    %s  %d bytes, %d rows  (%s)\n", i, b.Key, b.Length, len(b.Rows), args[i])
			}
			fmt.Fprintf(w, "wrote %d rows (D=%d, K=%d; any %d rebuild the batch) to %s\n", batch.N, batch.D, batch.K, batch.D, out)
			return nil
		},
	}
	encodeCmd.Flags().StringVar(&out, "out", "", "directory to write (created if needed)")
	encodeCmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress on the terminal")
	encodeCmd.Flags().IntVar(&workers, "workers", 0, "goroutines to use (0 = all CPUs)")
	addDeviceFlag(encodeCmd, &device)
	rootCmd.AddCommand(encodeCmd)

	var outPath string
	var dQuiet bool
	var dWorkers int
	var dDevice string
	decodeCmd := &cobra.Command{
		Use:   "decode DIR --out FILE|DIR",
		Short: "Rebuild a batch's blobs from whatever dispersed rows of an encoded directory remain",
		Long: `decode reads a directory written by 'zgda encode', checks every row file
against the batch's commitments (damaged or tampered rows are named and left
out) and rebuilds the blobs from any D good rows, writing exactly the bytes
that were encoded: to FILE for a batch of one blob, or as DIR/blob-NNN.bin
(NNN the blob's position in the batch) when the batch holds several or --out
is an existing directory. If too few good rows remain it says which rows are
missing.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if outPath == "" {
				return fmt.Errorf("--out FILE or --out DIR is required")
			}
			dir, err := encoder.ReadDir(args[0])
			if err != nil {
				return err
			}
			stderr := cmd.ErrOrStderr()
			damaged := make([]int, 0, len(dir.Damaged))
			for n := range dir.Damaged {
				damaged = append(damaged, n)
			}
			sort.Ints(damaged)
			for _, n := range damaged {
				fmt.Fprintf(stderr, "warning: %s: %v; left out\n", encoder.RowFileName(n), dir.Damaged[n])
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
			data, rejected, err := enc.DecodeBatch(cmd.Context(), committerFor(c, dWorkers), &dir.Header, dir.Rows, progress)
			done()
			for _, n := range rejected {
				fmt.Fprintf(stderr, "warning: %s does not match its commitment; left out\n", encoder.RowFileName(n))
			}
			if err != nil {
				return err
			}
			return writeBlobs(cmd.OutOrStdout(), dir, data, len(dir.Rows)-len(rejected), outPath)
		},
	}
	decodeCmd.Flags().StringVar(&outPath, "out", "", "file (a batch of one) or directory to write the blobs to")
	decodeCmd.Flags().BoolVarP(&dQuiet, "quiet", "q", false, "no progress on the terminal")
	decodeCmd.Flags().IntVar(&dWorkers, "workers", 0, "goroutines to use (0 = all CPUs)")
	addDeviceFlag(decodeCmd, &dDevice)
	rootCmd.AddCommand(decodeCmd)
}

// writeBlobs writes the decoded blobs: to the file out for a batch of one
// (unless out is a directory), else as out/blob-NNN.bin.
func writeBlobs(w io.Writer, dir *encoder.DirContents, data [][]fr.Element, good int, out string) error {
	hdr := &dir.Header
	fi, statErr := os.Stat(out)
	asDir := len(hdr.Blobs) > 1 || (statErr == nil && fi.IsDir())
	if asDir {
		if statErr == nil && !fi.IsDir() {
			return fmt.Errorf("--out %s is a file, but the batch holds %d blobs: give a directory", out, len(hdr.Blobs))
		}
		if err := os.MkdirAll(out, 0o755); err != nil {
			return err
		}
	} else if statErr != nil && !errors.Is(statErr, os.ErrNotExist) {
		return statErr
	}
	offsets := hdr.Offsets()
	for i := range hdr.Blobs {
		b := &hdr.Blobs[i]
		blob, err := encoder.Unpack(data[offsets[i]:offsets[i]+int(b.Rows)], int(b.Length))
		if err != nil {
			return fmt.Errorf("blob %d (%s): %w", i, b.Key, err)
		}
		path := out
		if asDir {
			path = filepath.Join(out, fmt.Sprintf("blob-%03d.bin", i))
		}
		if err := os.WriteFile(path, blob, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(w, "blob_key %s\nrebuilt %d bytes into %s\n", b.Key, len(blob), path)
	}
	fmt.Fprintf(w, "from %d good of %d rows (any %d suffice)\n", good, hdr.DispersedRows(), hdr.DataRows())
	return nil
}
