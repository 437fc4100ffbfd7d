package engine

import "testing"

// TestMemoryBudget: every bounded term moves the budget by what it bounds.
func TestMemoryBudget(t *testing.T) {
	base := DefaultConfig(t.TempDir())
	b0 := base.MemoryBudget()
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		diff int64
	}{
		{"queue", func(c *Config) { c.Queue.MaxPendingBytes += 1 << 20 }, 1 << 20},
		{"bodies", func(c *Config) { c.API.MaxBodyBytesInFlight += 1 << 20 }, 1 << 20},
		{"rebuilt cache", func(c *Config) { c.Retrieval.CacheBytes += 1 << 20 }, 1 << 20},
		{"cell cache", func(c *Config) { c.Retrieval.CellCacheRows++ }, cellEntryMemory},
		{"block cache", func(c *Config) { c.Retrieval.BlockCacheBytes += 1 << 20 }, 1 << 20},
		{"rebuilds", func(c *Config) { c.Retrieval.MaxHeavy++ }, rebuildMemory},
		{"dispersal copies", func(c *Config) { c.Dispersal.Concurrency++ }, 1024 * 4096 * 32},
	} {
		c := base
		tc.mod(&c)
		if got := c.MemoryBudget() - b0; got != tc.diff {
			t.Errorf("%s: the budget moved by %d, want %d", tc.name, got, tc.diff)
		}
	}
	if b0 < base.Queue.MaxPendingBytes+base.API.MaxBodyBytesInFlight {
		t.Fatalf("budget %d below its two largest terms", b0)
	}
}
