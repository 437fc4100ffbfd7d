package node_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zgda/zgda/chain"
	"github.com/zgda/zgda/signer/node"
)

// A node whose storage.keep_epochs would prune rows while the chain still
// promises them (docs/spec.md §6: a batch of certificate epoch e stays
// available through epoch e + availability_epochs) is refused before it
// opens storage, creates its identity, listens or registers; one that keeps
// rows long enough, or for ever, starts.
func TestRetentionOutlastsAvailabilityWindow(t *testing.T) {
	const window = 5
	c := newClusterWith(t, 1, func(p *chain.Params) { p.AvailabilityEpochs = window }, nil)
	ctx := ctxT(t, 2*time.Minute)
	k := testKey(t, 60)

	for _, keep := range []uint64{1, window} {
		t.Run(fmt.Sprintf("keep_epochs %d refused", keep), func(t *testing.T) {
			home := t.TempDir()
			cfg := nodeConfig(t, home)
			cfg.Storage.KeepEpochs = keep
			nd, err := node.Start(ctx, cfg, k, node.WithClient(c.client), node.WithRegistrar(c.registrar))
			if err == nil {
				nd.Close()
				t.Fatalf("a node keeping rows %d epochs started on a chain promising %d", keep, window)
			}
			if !errors.Is(err, node.ErrRetention) || !errors.Is(err, node.ErrConfig) {
				t.Fatalf("error %v, want ErrRetention and ErrConfig", err)
			}
			msg := err.Error()
			for _, want := range []string{fmt.Sprintf("storage.keep_epochs %d", keep),
				fmt.Sprintf("availability_epochs %d", window), fmt.Sprintf("at least %d", window+1)} {
				if !strings.Contains(msg, want) {
					t.Fatalf("error does not say %q:\n%s", want, msg)
				}
			}
			for _, p := range []string{cfg.Storage.Meta, cfg.P2P.IdentityFile} {
				if _, err := os.Stat(filepath.Join(home, p)); !errors.Is(err, os.ErrNotExist) {
					t.Fatalf("a refused node left %s: %v", p, err)
				}
			}
			if _, err := c.client.Signer(ctx, k.PublicKey().Bytes()); !chain.IsNotFound(err) {
				t.Fatalf("a refused node registered: %v", err)
			}
		})
	}

	for _, keep := range []uint64{window + 1, 0} {
		t.Run(fmt.Sprintf("keep_epochs %d starts", keep), func(t *testing.T) {
			cfg := nodeConfig(t, t.TempDir())
			cfg.Storage.KeepEpochs = keep
			nd, err := node.Start(ctx, cfg, k, node.WithClient(c.client), node.WithRegistrar(c.registrar))
			if err != nil {
				t.Fatal(err)
			}
			defer nd.Close()
			if _, err := c.client.Signer(ctx, k.PublicKey().Bytes()); err != nil {
				t.Fatalf("not registered: %v", err)
			}
		})
	}
}

// storage.keep_epochs K keeps a row stored for epoch e through epoch
// e + K − 1, so it must be 0 or more than availability_epochs; on a chain
// with an unbounded window only 0 will do.
func TestStorageValidateWindow(t *testing.T) {
	for _, tc := range []struct {
		name         string
		keep, window uint64
		min          string // "" when accepted
	}{
		{"keeps rows, bounded window", 0, 5, ""},
		{"keeps rows, unbounded window", 0, 0, ""},
		{"one past the window", 6, 5, ""},
		{"well past the window", 1000, 5, ""},
		{"equal to the window", 5, 5, "at least 6"},
		{"inside the window", 1, 5, "at least 6"},
		{"pruning, unbounded window", 3, 0, "storage.keep_epochs to 0"},
		{"pruning, largest window", 1 << 63, ^uint64(0), "storage.keep_epochs to 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := chain.DefaultParams()
			p.AvailabilityEpochs = tc.window
			err := node.StorageConfig{KeepEpochs: tc.keep}.ValidateWindow(p)
			switch {
			case tc.min == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.min == "":
			case !errors.Is(err, node.ErrRetention) || !strings.Contains(err.Error(), tc.min) ||
				!strings.Contains(err.Error(), fmt.Sprintf("storage.keep_epochs %d", tc.keep)) ||
				!strings.Contains(err.Error(), fmt.Sprintf("availability_epochs %d", tc.window)):
				t.Fatalf("error %v, want ErrRetention naming keep_epochs %d, availability_epochs %d and %q", err, tc.keep, tc.window, tc.min)
			}
		})
	}
}

// keep_epochs 0 follows the chain: the shortest retention that keeps its
// promise, availability_epochs + 1, or for ever on an unbounded window.
func TestEffectiveKeepEpochs(t *testing.T) {
	for _, tc := range []struct{ keep, window, want uint64 }{
		{0, 5, 6}, {0, 0, 0}, {9, 5, 9}, {0, chain.DefaultAvailabilityEpochs, chain.DefaultAvailabilityEpochs + 1},
	} {
		s := node.StorageConfig{KeepEpochs: tc.keep}
		if got := s.EffectiveKeepEpochs(chain.Params{AvailabilityEpochs: tc.window}); got != tc.want {
			t.Errorf("keep_epochs %d, availability_epochs %d: %d, want %d", tc.keep, tc.window, got, tc.want)
		}
	}
}
