package node_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zgda/zgda/chain"
	"github.com/zgda/zgda/signer/node"
)

func TestConfigValidate(t *testing.T) {
	if err := node.DefaultConfig("/h").ValidateBasic(); err != nil {
		t.Fatal(err)
	}
	if err := node.TestConfig("/h").ValidateBasic(); err != nil {
		t.Fatal(err)
	}
	cases := map[string]func(c *node.Config){
		"home":                      func(c *node.Config) { c.Home = "" },
		"chain.poll_interval":       func(c *node.Config) { c.Chain.PollInterval = 0 },
		"p2p.listen":                func(c *node.Config) { c.P2P.Listen = nil },
		"p2p.listen[1]":             func(c *node.Config) { c.P2P.Listen = append(c.P2P.Listen, "127.0.0.1:4001") },
		"p2p.announce[0]":           func(c *node.Config) { c.P2P.Announce = []string{"nope"} },
		"p2p.identity_file":         func(c *node.Config) { c.P2P.IdentityFile = "" },
		"storage.meta":              func(c *node.Config) { c.Storage.Meta = "" },
		"storage.volumes":           func(c *node.Config) { c.Storage.Volumes = nil },
		"storage.volumes[0]":        func(c *node.Config) { c.Storage.Volumes = []string{""} },
		"limits.max_concurrent":     func(c *node.Config) { c.Limits.MaxConcurrent = 0 },
		"limits.max_inflight_bytes": func(c *node.Config) { c.Limits.MaxInflightBytes = 1 << 20 },
		"limits.max_queries":        func(c *node.Config) { c.Limits.MaxQueries = 0 },
		"limits.max_per_peer":       func(c *node.Config) { c.Limits.MaxPerPeer = 0 },
		"limits.header_timeout":     func(c *node.Config) { c.Limits.HeaderTimeout = c.Limits.RequestTimeout + 1 },
		"limits.request_timeout":    func(c *node.Config) { c.Limits.RequestTimeout = chain.Duration(time.Millisecond) },
	}
	for field, mut := range cases {
		t.Run(field, func(t *testing.T) {
			c := node.DefaultConfig("/h")
			mut(c)
			err := c.ValidateBasic()
			if !errors.Is(err, node.ErrConfig) || !strings.Contains(err.Error(), field) {
				t.Fatalf("%v", err)
			}
		})
	}
}

func TestConfigFile(t *testing.T) {
	home := t.TempDir()
	if _, err := node.LoadConfig(home); !errors.Is(err, node.ErrConfig) || !strings.Contains(err.Error(), "zgda node init") {
		t.Fatalf("missing file: %v", err)
	}
	c := node.DefaultConfig(home)
	c.Chain.RPC = "http://127.0.0.1:1234"
	c.Storage.KeepEpochs = 9
	if err := node.WriteConfig(home, c); err != nil {
		t.Fatal(err)
	}
	got, err := node.LoadConfig(home)
	if err != nil || got.Chain.RPC != c.Chain.RPC || got.Storage.KeepEpochs != 9 || got.Home != home {
		t.Fatalf("%+v %v", got, err)
	}
	if got.KeystorePath() != filepath.Join(home, "keys/bls.json") || got.VolumePaths()[0] != filepath.Join(home, "storage/vol0") {
		t.Fatalf("paths %s %v", got.KeystorePath(), got.VolumePaths())
	}
	file := filepath.Join(home, node.ConfigFile)
	os.WriteFile(file, []byte(`{"limits": {"max_concurent": 3}}`), 0o600)
	if _, err := node.LoadConfig(home); err == nil || !strings.Contains(err.Error(), "max_concurent") {
		t.Fatalf("unknown field: %v", err)
	}
	os.WriteFile(file, []byte(`{"limits": {"max_concurrent": 0}}`), 0o600)
	if _, err := node.LoadConfig(home); err == nil || !strings.Contains(err.Error(), "limits.max_concurrent") {
		t.Fatalf("bad value: %v", err)
	}
}

func TestIdentityFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p2p", "identity.key")
	id, err := node.InitIdentity(path)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("%v %v", st, err)
	}
	if again, err := node.InitIdentity(path); err != nil || again != id {
		t.Fatalf("reloaded %s, want %s: %v", again, id, err)
	}
	os.Chmod(path, 0o644)
	if _, err := node.InitIdentity(path); !errors.Is(err, node.ErrIdentity) || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("world-readable: %v", err)
	}
	os.WriteFile(path, []byte("garbage"), 0o600)
	os.Chmod(path, 0o600)
	if _, err := node.InitIdentity(path); !errors.Is(err, node.ErrIdentity) {
		t.Fatalf("garbage: %v", err)
	}
}
