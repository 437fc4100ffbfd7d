package storage

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name    string
		mutate  func(c *Config)
		section string
	}{
		{"no-dir", func(c *Config) { c.Dir = "" }, "storage.dir"},
		{"no-volumes", func(c *Config) { c.Volumes.Paths = nil }, "storage.volumes"},
		{"duplicate-volume", func(c *Config) { c.Volumes.Paths = []string{"/a", "/b", "/a/"} }, "storage.volumes"},
		{"parity-too-large", func(c *Config) { c.Volumes.Paths = []string{"/a", "/b"}; c.Volumes.Parity = 2 }, "storage.volumes"},
		{"parity-one-volume", func(c *Config) { c.Volumes.Parity = 1 }, "storage.volumes"},
		{"negative-parity", func(c *Config) { c.Volumes.Parity = -1 }, "storage.volumes"},
		{"volume-is-meta", func(c *Config) { c.Volumes.Paths = []string{c.Dir} }, "storage.volumes"},
		{"tiny-segments", func(c *Config) { c.Log.SegmentSize = 1000 }, "storage.log"},
		{"zero-key-size", func(c *Config) { c.Log.MaxKeySize = 0 }, "storage.log"},
		{"huge-key-size", func(c *Config) { c.Log.MaxKeySize = 1 << 20 }, "storage.log"},
		{"huge-values", func(c *Config) { c.Log.MaxValueSize = 4 << 30 }, "storage.log"},
		{"no-queue", func(c *Config) { c.Log.QueueDepth = 0 }, "storage.log"},
		{"garbage-ratio", func(c *Config) { c.Compaction.MinGarbageRatio = 0 }, "storage.compaction"},
		{"empty-rule", func(c *Config) { c.Retention.Rules = []RetentionRule{{Prefix: []byte("x")}} }, "storage.retention"},
		{"negative-scrub", func(c *Config) { c.Scrub.Interval = -time.Second }, "storage.scrub"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig(t.TempDir())
			tc.mutate(&c)
			err := c.Validate()
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tc.section) {
				t.Fatalf("Validate: %v; want ErrInvalidConfig naming %s", err, tc.section)
			}
			if _, err := Open(c); !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("Open: %v", err)
			}
		})
	}
	c := DefaultConfig(t.TempDir())
	if err := c.Validate(); err != nil {
		t.Fatalf("DefaultConfig does not validate: %v", err)
	}
}

func TestOpenBadVolumes(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("x"), 0o644)
	good := filepath.Join(dir, "good")
	os.Mkdir(good, 0o755)

	cases := []struct {
		name   string
		path   string
		reason error
		says   string
	}{
		{"missing", filepath.Join(dir, "not-mounted"), ErrVolumeMissing, "does not exist"},
		{"not-a-directory", file, ErrVolumeMissing, "not a directory"},
	}
	if ro := unwritableDir(t); ro != "" {
		cases = append(cases, struct {
			name   string
			path   string
			reason error
			says   string
		}{"unwritable", ro, ErrVolumeUnwritable, "cannot create"})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := TestConfig(t.TempDir(), []string{good, tc.path})
			_, err := Open(cfg)
			var ve *VolumeError
			if !errors.Is(err, tc.reason) || !errors.As(err, &ve) || ve.Index != 1 || ve.Path != tc.path {
				t.Fatalf("Open: %v; want a VolumeError for volume 1 wrapping %v", err, tc.reason)
			}
			if !strings.Contains(err.Error(), tc.says) || !strings.Contains(err.Error(), tc.path) {
				t.Fatalf("message %q should say %q and name the path", err, tc.says)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "not-mounted")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("Open created a missing volume directory")
	}
}

// unwritableDir returns a directory this process cannot create files in, or
// "" if it cannot find one (root ignores permission bits; sysfs refuses
// even root).
func unwritableDir(t *testing.T) string {
	if os.Geteuid() != 0 {
		d := filepath.Join(t.TempDir(), "ro")
		os.Mkdir(d, 0o555)
		return d
	}
	if f, err := os.Create("/sys/.zgda-probe"); err == nil {
		f.Close()
		os.Remove("/sys/.zgda-probe")
		return ""
	}
	return "/sys"
}

func TestOpenVolumeMismatch(t *testing.T) {
	env := newEnv(t, storeCase{vols: 3})
	s := env.open()
	mustPut(t, s, "k", value("k", 1, 50_000))
	s.Close()
	other := newEnv(t, storeCase{vols: 3})
	so := other.open()
	so.Close()
	extra := filepath.Join(t.TempDir(), "extra")
	os.Mkdir(extra, 0o755)

	cases := []struct {
		name   string
		mutate func(c *Config)
		says   string
	}{
		{"fewer", func(c *Config) { c.Volumes.Paths = c.Volumes.Paths[:2] }, "created with 3 volumes"},
		{"more", func(c *Config) { c.Volumes.Paths = append(c.Volumes.Paths, extra) }, "created with 3 volumes"},
		{"swapped", func(c *Config) {
			p := c.Volumes.Paths
			c.Volumes.Paths = []string{p[1], p[0], p[2]}
		}, "must keep their order"},
		{"foreign", func(c *Config) { c.Volumes.Paths = []string{c.Volumes.Paths[0], other.vols[1], c.Volumes.Paths[2]} }, "belongs to another store"},
		{"parity-changed", func(c *Config) { c.Volumes.Parity = 2 }, "parity is fixed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := env.cfg
			cfg.Volumes.Paths = append([]string{}, env.cfg.Volumes.Paths...)
			tc.mutate(&cfg)
			_, err := Open(cfg)
			if !errors.Is(err, ErrVolumeMismatch) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("Open: %v; want ErrVolumeMismatch saying %q", err, tc.says)
			}
		})
	}
	// After all those refusals the store still opens and reads.
	s = env.open()
	mustGet(t, s, "k", value("k", 1, 50_000))
	s.Close()

	// Volumes with data but a new (empty) metadata directory.
	cfg := env.cfg
	cfg.Dir = filepath.Join(t.TempDir(), "new-meta")
	if _, err := Open(cfg); !errors.Is(err, ErrVolumeMismatch) || !strings.Contains(err.Error(), "metadata directory") {
		t.Fatalf("Open with fresh metadata over used volumes: %v", err)
	}
}

func TestOpenTwice(t *testing.T) {
	s, env := openStore(t, storeCase{vols: 2})
	_ = s
	if _, err := Open(env.cfg); err == nil || !strings.Contains(err.Error(), "another process") {
		t.Fatalf("second Open of the same store: %v", err)
	}
	if err := s.Put(context.Background(), []byte("k"), []byte("v")); err != nil {
		t.Fatalf("first store broken by the refused second Open: %v", err)
	}
}
