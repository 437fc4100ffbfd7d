package devnet_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/zgda/zgda/chain"
	"github.com/zgda/zgda/client"
	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/devnet"
	"github.com/zgda/zgda/dispersal"
	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/engine"
	"github.com/zgda/zgda/engine/api"
	"github.com/zgda/zgda/kzg"
)

// startServe starts a disperser the way `zgda serve --home HOME --chain-rpc
// RPC --api 127.0.0.1:0` does (cmd/zgda/serve.go, --device cpu): the
// default configuration on home, the chain dialled over CometBFT RPC, the
// default dispatcher, the CPU codec.
func startServe(t *testing.T, ctx context.Context, home, rpc string) *engine.Engine {
	t.Helper()
	cfg := engine.DefaultConfig(home)
	cfg.API.Listen = "127.0.0.1:0"
	if err := cfg.ValidateBasic(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cfg.Storage.Dir); errors.Is(err, os.ErrNotExist) {
		for _, v := range cfg.Storage.Volumes {
			if err := os.MkdirAll(v, 0o700); err != nil {
				t.Fatal(err)
			}
		}
	}
	cl, err := chain.Dial(ctx, rpc)
	if err != nil {
		t.Fatalf("--chain-rpc %s: %v", rpc, err)
	}
	t.Cleanup(func() { cl.Close() })
	if err := kzg.Default().Warm(); err != nil {
		t.Fatal(err)
	}
	d, err := dispersal.New(cl, dispersal.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	enc, err := encoder.New(encoder.WithBackend(encoder.NewCPUBackend(cfg.Encoder.Workers)), encoder.WithWorkers(cfg.Encoder.Workers))
	if err != nil {
		t.Fatal(err)
	}
	opts := []engine.Option{engine.WithEncoder(enc), engine.WithCommitter(kzg.Default())}
	if l := logger(t); l != nil {
		opts = append(opts, engine.WithLogger(l))
	}
	e, err := engine.New(cfg, d, cl, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(ctx); err != nil {
		e.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// metricValue returns the value of the counter or gauge name with the given
// labels in reg (0 when absent).
func metricValue(t testing.TB, reg prometheus.Gatherer, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				if !slices.ContainsFunc(m.GetLabel(), func(l *dto.LabelPair) bool {
					return l.GetName() == labels[i] && l.GetValue() == labels[i+1]
				}) {
					continue metric
				}
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

// timedGet reads a blob over GET /v1/blobs/{key} and says how long it took.
func timedGet(ctx context.Context, cl *client.Client, k da.BlobKey) ([]byte, time.Duration, error) {
	t0 := time.Now()
	b, err := cl.Get(ctx, k)
	return b, time.Since(t0), err
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// TestAnyInstanceServesCertifiedBlobs: a disperser started on an empty home
// against the devnet's chain RPC and DA nodes (what `zgda serve` runs)
// serves every blob the devnet certified, byte-identical over GET
// /v1/blobs/{key}, the alt-DA GET /get/0x01‖7a‖02‖key and /commitments,
// and its first read of a blob costs at most twice what the accepting
// disperser pays to rebuild the same blob from the nodes once its local copy
// is pruned (medians over distinct blobs, read in alternating order).
func TestAnyInstanceServesCertifiedBlobs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a devnet twice and a second disperser")
	}
	dir := t.TempDir()
	ports, err := chain.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	cfg := devnet.TestConfig(dir)
	cfg.RPC = net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0])) // as `zgda devnet --rpc`
	n := startDevnet(t, cfg)
	if n.RPCAddress() == "" {
		t.Fatal("the devnet exposes no chain RPC")
	}
	ctx := ctxT(t, 3*time.Minute)
	cl := client.New(n.URL(), client.WithPollInterval(20*time.Millisecond))

	// One small blob and a few of three rows, each certified before the next
	// is posted, so that every blob is its own batch and each rebuild starts
	// from nothing cached.
	sizes := []int{1000, 300_000, 300_000, 300_000, 300_000}
	blobs := make([][]byte, len(sizes))
	keys := make([]da.BlobKey, len(sizes))
	for i, sz := range sizes {
		blobs[i] = randBlob(t, sz)
		r, err := cl.Put(ctx, blobs[i])
		if err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
		keys[i] = r.BlobKey
		s, err := cl.WaitCertified(ctx, r.BlobKey)
		if err != nil {
			t.Fatalf("blob %d: %v", i, err)
		}
		t.Logf("blob %d: %d bytes, %d rows, batch %s of %d blobs", i, sz, s.Rows, s.BatchRoot, s.BatchSize)
	}

	// The accepting disperser, restarted with its local copies pruned: its
	// reads rebuild from the DA nodes (its own records locate the batches).
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	cfg.Engine = func(c *engine.Config) {
		c.Retention.BlobMaxAge = engine.Duration(time.Nanosecond)
		c.Retention.Interval = engine.Duration(10 * time.Millisecond)
	}
	n = startDevnet(t, cfg)
	acc := n.Engine()
	for metricValue(t, acc.Registry(), "zgda_storage_pruned_total") < float64(len(blobs)) {
		select {
		case <-ctx.Done():
			t.Fatalf("the accepting disperser pruned %v of %d local copies", metricValue(t, acc.Registry(), "zgda_storage_pruned_total"), len(blobs))
		case <-time.After(10 * time.Millisecond):
		}
	}
	accCl := client.New(n.URL())

	// The fresh instance: an empty home, the chain's RPC, nothing else.
	fresh := startServe(t, ctx, filepath.Join(t.TempDir(), "fresh"), n.RPCAddress())
	freshURL := "http://" + fresh.APIAddr()
	freshCl := client.New(freshURL)

	accT := make([]time.Duration, len(keys))
	freshT := make([]time.Duration, len(keys))
	for i, k := range keys {
		read := func(who string, c *client.Client, out *time.Duration) {
			b, d, err := timedGet(ctx, c, k)
			if err != nil || !bytes.Equal(b, blobs[i]) {
				t.Fatalf("%s disperser, blob %d: %d bytes, %v", who, i, len(b), err)
			}
			*out = d
		}
		// Alternate who reads first, so that neither always finds the DA
		// nodes' pages warm.
		if i%2 == 0 {
			read("fresh", freshCl, &freshT[i])
			read("accepting", accCl, &accT[i])
		} else {
			read("accepting", accCl, &accT[i])
			read("fresh", freshCl, &freshT[i])
		}
		t.Logf("blob %d (%d bytes): accepting disperser rebuilt it in %v, the fresh one read it first in %v (%.2f×)",
			i, sizes[i], accT[i].Round(time.Microsecond), freshT[i].Round(time.Microsecond), float64(freshT[i])/float64(accT[i]))
	}
	if got := metricValue(t, acc.Registry(), "zgda_engine_reconstructions_total", "result", "ok"); got != float64(len(keys)) {
		t.Fatalf("the accepting disperser rebuilt %v blobs from the DA nodes, want %d", got, len(keys))
	}
	if got := metricValue(t, fresh.Registry(), "zgda_engine_reconstructions_total", "result", "ok"); got != float64(len(keys)) {
		t.Fatalf("the fresh disperser rebuilt %v blobs from the DA nodes, want %d", got, len(keys))
	}
	ma, mf := median(accT), median(freshT)
	t.Logf("median first read: accepting (rebuild) %v, fresh %v (%.2f×)", ma.Round(time.Microsecond), mf.Round(time.Microsecond), float64(mf)/float64(ma))
	if mf > 2*ma {
		t.Errorf("the fresh disperser's first reads (median %v) take more than twice the accepting disperser's rebuilds (median %v)", mf, ma)
	}

	// Every route of a blob on the fresh instance, byte-identical.
	for i, k := range keys {
		comm := append([]byte{0x01, 0x7a, 0x02}, k[:]...)
		if b, err := freshCl.AltDAGet(ctx, comm); err != nil || !bytes.Equal(b, blobs[i]) {
			t.Fatalf("fresh disperser, alt-DA get of blob %d: %d bytes, %v", i, len(b), err)
		}
		if b, err := freshCl.Get(ctx, k); err != nil || !bytes.Equal(b, blobs[i]) {
			t.Fatalf("fresh disperser, second read of blob %d: %d bytes, %v", i, len(b), err)
		}
		cm, err := freshCl.Commitments(ctx, k)
		if err != nil {
			t.Fatalf("fresh disperser, commitments of blob %d: %v", i, err)
		}
		want, err := accCl.Commitments(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := encoder.ParamsFor(sizes[i])
		if cm.Length != sizes[i] || cm.Rows != p.Rows || encoder.BlobKey(cm.Length, cm.Commitments) != k ||
			!slices.Equal(cm.Commitments, want.Commitments) {
			t.Fatalf("fresh disperser, commitments of blob %d: %+v, the accepting one says %+v", i, cm, want)
		}
	}
	if _, err := freshCl.Status(ctx, keys[0]); err != nil {
		t.Logf("note: the fresh disperser serves blob 0 but answers its status with %v", err)
	}
	// An unknown key is 404 on the fresh instance too, found nowhere.
	var unknown da.BlobKey
	unknown[7] = 1
	if _, err := freshCl.Get(ctx, unknown); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("fresh disperser, unknown blob: %v", err)
	}
	if _, err := freshCl.AltDAGet(ctx, append([]byte{0x01, 0x7a, 0x02}, unknown[:]...)); err == nil {
		t.Fatal("fresh disperser, alt-DA get of an unknown blob answered 200")
	}
}
