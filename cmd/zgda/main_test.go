package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// run executes the CLI in-process with fresh flag values.
func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	freshCLI(&out, args)
	err := rootCmd.Execute()
	return out.String(), err
}

// freshCLI readies rootCmd for one in-process run of args. cobra keeps flag
// values and each subcommand's context between runs, so every flag of the
// tree goes back to its default and every context is dropped: a subcommand
// then takes the context this run is executed with, and no run sees a flag
// an earlier one set.
func freshCLI(out io.Writer, args []string) {
	var reset func(c *cobra.Command)
	reset = func(c *cobra.Command) {
		c.Flags().VisitAll(resetFlag)
		c.PersistentFlags().VisitAll(resetFlag)
		c.SetContext(nil) //nolint:staticcheck // nil is what lets cobra pass the run's context down
		for _, sub := range c.Commands() {
			reset(sub)
		}
	}
	reset(rootCmd)
	rootCmd.SetOut(out)
	rootCmd.SetErr(out)
	rootCmd.SetArgs(args)
}

// resetFlag puts f back to its default; a slice flag gets its default list,
// not the values earlier runs appended.
func resetFlag(f *pflag.Flag) {
	f.Changed = false
	sv, ok := f.Value.(pflag.SliceValue)
	if !ok {
		if err := f.Value.Set(f.DefValue); err != nil {
			panic(fmt.Sprintf("flag --%s: its default %q does not parse: %v", f.Name, f.DefValue, err))
		}
		return
	}
	var def []string
	if d := strings.Trim(f.DefValue, "[]"); d != "" {
		rec, err := csv.NewReader(strings.NewReader(d)).Read()
		if err != nil {
			panic(fmt.Sprintf("flag --%s: its default %q does not parse: %v", f.Name, f.DefValue, err))
		}
		def = rec
	}
	sv.Replace(def)
}

func TestCommitEncodeDecode(t *testing.T) {
	dir := t.TempDir()
	blob := make([]byte, 200_000) // R = D = K = 2, N = 8
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range blob {
		blob[i] = byte(rng.Uint32())
	}
	file := filepath.Join(dir, "blob.bin")
	if err := os.WriteFile(file, blob, 0o644); err != nil {
		t.Fatal(err)
	}

	out, err := run(t, "commit", file, "--json", "-q")
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		BlobKey     string   `json:"blob_key"`
		Length      int      `json:"length"`
		Rows        int      `json:"rows"`
		Commitments []string `json:"commitments"`
	}
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatalf("commit --json: %v\n%s", err, out)
	}
	if c.Length != len(blob) || c.Rows != 2 || len(c.Commitments) != 2 || len(c.BlobKey) != 66 {
		t.Fatalf("commit --json: %+v", c)
	}

	enc := filepath.Join(dir, "enc")
	if out, err := run(t, "encode", file, "--out", enc, "-q"); err != nil || !strings.Contains(out, c.BlobKey) {
		t.Fatalf("encode: %v\n%s", err, out)
	}
	// Keep only rows 5 and 6 of 8: two parity rows rebuild the blob.
	for j := 0; j < 8; j++ {
		if j != 5 && j != 6 {
			os.Remove(filepath.Join(enc, "row-000"+string(rune('0'+j))+".bin"))
		}
	}
	back := filepath.Join(dir, "back.bin")
	if out, err := run(t, "decode", enc, "--out", back, "-q"); err != nil {
		t.Fatalf("decode: %v\n%s", err, out)
	}
	got, err := os.ReadFile(back)
	if err != nil || !bytes.Equal(got, blob) {
		t.Fatalf("decoded bytes differ (%v)", err)
	}
	// One more row gone: a clear error naming what is missing.
	os.Remove(filepath.Join(enc, "row-0006.bin"))
	if _, err := run(t, "decode", enc, "--out", back, "-q"); err == nil || !strings.Contains(err.Error(), "missing rows") {
		t.Fatalf("decode with one row: %v", err)
	}
	// A manifest whose key does not match its commitments is refused.
	m, _ := os.ReadFile(filepath.Join(enc, "manifest.json"))
	bad := strings.Replace(string(m), c.BlobKey[:10], "0xffffffff", 1)
	os.WriteFile(filepath.Join(enc, "manifest.json"), []byte(bad), 0o644)
	if _, err := run(t, "decode", enc, "--out", back, "-q"); err == nil || !strings.Contains(err.Error(), "not to its key") {
		t.Fatalf("decode with a bad manifest: %v", err)
	}
	if _, err := run(t, "commit", filepath.Join(dir, "missing"), "-q"); err == nil {
		t.Fatal("commit of a missing file succeeded")
	}
}
