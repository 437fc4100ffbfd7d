package sampler_test

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/zgda/zgda/client"
	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/devnet"
	"github.com/zgda/zgda/sampler"
	"github.com/zgda/zgda/signer/node"
)

func logger() *slog.Logger {
	if os.Getenv("ZGDA_DEBUG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// net is one devnet shared by the tests of this file (starting one costs
// seconds), with fault injection on every DA node's cell protocol.
type testNet struct {
	*devnet.Network
	faults []*atomic.Pointer[fault]
}

// fault is how a node answers cell requests; nil is honestly.
type fault struct {
	withhold func(row uint32) bool // refuse these rows (NotFound)
	silent   bool                  // never answer
	wrong    bool                  // another cell's data and proof, labelled as the one asked for
	header   bool                  // a header with a wrong commitment when one is asked for
	garbage  bool                  // a frame that does not decode
	huge     bool                  // a frame header announcing more than any cell answer
}

func startNet(t *testing.T) *testNet {
	t.Helper()
	cfg := devnet.TestConfig(t.TempDir())
	cfg.Logger = logger()
	n, err := devnet.Start(ctxT(t, 2*time.Minute), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return &testNet{Network: n}
}

// inject replaces every node's cell handler by one that consults the node's
// fault and otherwise answers through the node's own Cell method.
func (tn *testNet) inject() {
	for _, nd := range tn.Nodes() {
		p := new(atomic.Pointer[fault])
		tn.faults = append(tn.faults, p)
		nd.Host().SetStreamHandler(da.ProtocolCell, func(s network.Stream) { serveCell(nd, p.Load(), s) })
	}
}

func (tn *testNet) set(i int, f *fault) { tn.faults[i].Store(f) }

func (tn *testNet) honest() {
	for _, p := range tn.faults {
		p.Store(nil)
	}
}

func serveCell(nd *node.Node, f *fault, s network.Stream) {
	defer s.Close()
	m, err := da.ReadMessage(s, 1<<16)
	if err != nil {
		s.Reset()
		return
	}
	req := m.(*da.CellRequest)
	var ans da.Message
	switch {
	case f != nil && f.silent:
		time.Sleep(10 * time.Second)
		s.Reset()
		return
	case f != nil && f.garbage:
		s.Write([]byte{0, 0, 0, 9, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5})
		return
	case f != nil && f.huge:
		var hdr [4]byte
		binary.BigEndian.PutUint32(hdr[:], da.MaxCellResponseSize+1)
		s.Write(hdr[:])
		s.Write(make([]byte, 4096))
		return
	case f != nil && f.withhold != nil && f.withhold(req.Row):
		ans = &da.ErrorMessage{Code: da.CodeNotFound, Reason: "withheld"}
	default:
		asked := *req
		if f != nil && f.wrong {
			req.Cell = (req.Cell + 1) % da.CellsPerRow
		}
		resp, err := nd.Cell(context.Background(), req)
		if err != nil {
			ans = &da.ErrorMessage{Code: da.CodeInternal, Reason: err.Error()}
			break
		}
		resp.Cell = asked.Cell
		if f != nil && f.header && resp.Header != nil {
			h := *resp.Header
			h.Commitments = slices.Clone(h.Commitments)
			h.Commitments[0] = da.Commitment{0xc0} // the point at infinity
			resp.Header = &h
		}
		ans = resp
	}
	da.WriteFrame(s, ans)
}

func randBlob(t testing.TB, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// post posts blobs and waits until each is certified.
func (tn *testNet) post(t *testing.T, ctx context.Context, sizes ...int) []da.BlobKey {
	t.Helper()
	cl := client.New(tn.URL(), client.WithPollInterval(20*time.Millisecond))
	var keys []da.BlobKey
	for _, n := range sizes {
		r, err := cl.Put(ctx, randBlob(t, n))
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, r.BlobKey)
	}
	for _, k := range keys {
		if _, err := cl.WaitCertified(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func (tn *testNet) sampler(t *testing.T, cfg sampler.Config, opts ...sampler.Option) *sampler.Sampler {
	t.Helper()
	s, err := sampler.New(tn.Chain().Client(), cfg, append([]sampler.Option{sampler.WithLogger(logger())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// testConfig waits long enough for a first FK20 run of a row on 2 busy
// cores (DA nodes and the disperser compute a row's cells on its first
// request).
func testConfig() sampler.Config {
	c := sampler.TestConfig()
	c.RequestTimeout = 2 * time.Minute // -race makes FK20 ~20× slower
	return c
}

// sample runs one check and fails the test if it could not be made.
func sample(t *testing.T, s *sampler.Sampler, key da.BlobKey, n int) *sampler.Report {
	t.Helper()
	rep, err := s.SampleN(ctxT(t, 5*time.Minute), key, n)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Samples) != n || rep.OK+rep.Failed+rep.Unanswered != n {
		t.Fatalf("%d samples, %d+%d+%d counted, want %d", len(rep.Samples), rep.OK, rep.Failed, rep.Unanswered, n)
	}
	return rep
}

func text(r *sampler.Report) string {
	var sb strings.Builder
	r.WriteText(&sb)
	return sb.String()
}

func TestSampler(t *testing.T) {
	tn := startNet(t)
	ctx := ctxT(t, 15*time.Minute) // about 30 s; 6 min under -race
	// K = 1 (4 extended rows, each on ~64 of the quorum's 256 slots, so every
	// node holds every row) and K = 4.
	keys := tn.post(t, ctx, 1000, 3*126976+5)
	small := keys[0]

	t.Run("honest", func(t *testing.T) {
		s := tn.sampler(t, testConfig())
		for _, key := range keys {
			rep := sample(t, s, key, 16)
			if !rep.Available || rep.OK != 16 || rep.Confidence < 0.999 {
				t.Fatalf("honest devnet:\n%s", text(rep))
			}
			if len(rep.Liars()) != 0 || (len(rep.Unresponsive()) != 0 && !raceEnabled) {
				t.Fatalf("honest nodes blamed:\n%s", text(rep))
			}
			seen := map[[2]int]bool{}
			for _, smp := range rep.Samples {
				if smp.Row >= 4*rep.Rows || smp.Cell >= da.CellsPerRow || seen[[2]int{int(smp.Row), int(smp.Cell)}] {
					t.Fatalf("sample (%d, %d) out of range or repeated", smp.Row, smp.Cell)
				}
				seen[[2]int{int(smp.Row), int(smp.Cell)}] = true
				if smp.From == nil || *smp.From < 0 || (len(smp.Tries) != 0 && !raceEnabled) {
					t.Fatalf("sample %+v: not served by a DA node at first try", smp)
				}
			}
		}
		// Samples are spread: with every node holding every row of the
		// small blob, each of the 4 nodes serves 4 of 16.
		rep := sample(t, s, small, 16)
		if len(rep.Nodes) != len(tn.Nodes()) {
			t.Fatalf("%d nodes asked, want all %d:\n%s", len(rep.Nodes), len(tn.Nodes()), text(rep))
		}
		// The whole grid of the small blob: 512 cells, every one verifies.
		if rep := sample(t, s, small, 512); !rep.Available {
			t.Fatalf("whole grid:\n%s", text(rep))
		}
	})

	tn.inject()
	withholdHalf := func(row uint32) bool { return row < 2 } // rows 0 and 1 of 4: 1/2 of the cells

	t.Run("withholding", func(t *testing.T) {
		defer tn.honest()
		for i := range tn.Nodes() {
			tn.set(i, &fault{withhold: withholdHalf})
		}
		s := tn.sampler(t, testConfig())
		rep := sample(t, s, small, 16)
		if rep.Available || rep.Confidence != 0 || rep.Unanswered == 0 || rep.Failed != 0 {
			t.Fatalf("half the grid withheld:\n%s", text(rep))
		}
		for _, smp := range rep.Samples {
			if withheld := smp.Row < 2; withheld != (smp.Outcome == sampler.Unanswered) || withheld != (smp.From == nil) {
				t.Fatalf("sample (%d, %d): %s from %v", smp.Row, smp.Cell, smp.Outcome, smp.From)
			}
			if smp.Outcome == sampler.Unanswered && len(smp.Tries) != len(tn.Nodes()) {
				t.Fatalf("withheld sample (%d, %d) asked %d holders, want all %d", smp.Row, smp.Cell, len(smp.Tries), len(tn.Nodes()))
			}
		}
		if got := rep.Unresponsive(); len(got) != len(tn.Nodes()) {
			t.Fatalf("unresponsive %v, want every node", got)
		}
		if out := text(rep); !strings.Contains(out, "UNAVAILABLE") || !strings.Contains(out, "did not answer: signer") {
			t.Fatalf("report does not say it:\n%s", out)
		}

		// The disperser still has the blob: as a fallback it makes the
		// blob available, and the nodes are still named.
		s = tn.sampler(t, testConfig(), sampler.WithDisperser(tn.URL()))
		rep = sample(t, s, small, 16)
		if !rep.Available || len(rep.Unresponsive()) == 0 {
			t.Fatalf("with the disperser as fallback:\n%s", text(rep))
		}
		for _, smp := range rep.Samples {
			if smp.From == nil || (smp.Row < 2) != (*smp.From == sampler.DisperserSource) {
				t.Fatalf("sample (%d, %d) served by %v", smp.Row, smp.Cell, smp.From)
			}
		}
	})

	t.Run("lying", func(t *testing.T) {
		defer tn.honest()
		tn.set(1, &fault{wrong: true})
		tn.set(2, &fault{header: true, wrong: true})
		s := tn.sampler(t, testConfig())
		rep := sample(t, s, small, 16)
		// Every sample is served by an honest holder in the end.
		if !rep.Available {
			t.Fatalf("two liars of four, every row replicated:\n%s", text(rep))
		}
		liars := rep.Liars()
		want := []int{int(tn.Nodes()[1].Index()), int(tn.Nodes()[2].Index())}
		slices.Sort(want)
		if !slices.Equal(liars, want) {
			t.Fatalf("liars %v, want %v:\n%s", liars, want, text(rep))
		}
		out := text(rep)
		if !strings.Contains(out, "LIED") || !strings.Contains(out, "does not verify") {
			t.Fatalf("report does not say it:\n%s", out)
		}
		// A fresh sampler has no cached header: node 2's lie is its header.
		s = tn.sampler(t, testConfig())
		for _, i := range []int{0, 1, 3} {
			tn.set(i, &fault{withhold: func(uint32) bool { return true }})
		}
		rep = sample(t, s, small, 4)
		if rep.Available || rep.Failed != 4 {
			t.Fatalf("only a liar serves:\n%s", text(rep))
		}
		if nr := nodeReport(rep, int(tn.Nodes()[2].Index())); nr == nil || !strings.Contains(nr.Error, "hashes to") {
			t.Fatalf("node 2 not blamed for its header: %+v", nr)
		}
	})

	t.Run("every row withheld by one node, served by the rest", func(t *testing.T) {
		defer tn.honest()
		tn.set(0, &fault{withhold: func(uint32) bool { return true }})
		tn.set(3, &fault{silent: true})
		cfg := testConfig()
		cfg.RequestTimeout = 2 * time.Second // the silent node's wait; cells are cached by now
		s := tn.sampler(t, cfg)
		rep := sample(t, s, small, 16)
		if !rep.Available {
			t.Fatalf("two nodes down of four:\n%s", text(rep))
		}
		for _, i := range []int{0, 3} {
			nr := nodeReport(rep, int(tn.Nodes()[i].Index()))
			if nr == nil || !nr.Unresponsive() || nr.Lied() || nr.Served != 0 {
				t.Fatalf("node %d: %+v", i, nr)
			}
		}
		if nr := nodeReport(rep, int(tn.Nodes()[3].Index())); nr.Faults["timed out"] == 0 {
			t.Fatalf("silent node: %+v", nr)
		}
	})

	t.Run("malformed and oversized answers", func(t *testing.T) {
		defer tn.honest()
		tn.set(0, &fault{garbage: true})
		tn.set(1, &fault{huge: true})
		for _, i := range []int{2, 3} {
			tn.set(i, &fault{withhold: func(uint32) bool { return true }})
		}
		s := tn.sampler(t, testConfig())
		rep := sample(t, s, small, 8)
		if rep.Available || rep.Failed != 8 {
			t.Fatalf("garbage from everyone who answers:\n%s", text(rep))
		}
		for i, want := range []string{"malformed answer", "too large"} {
			nr := nodeReport(rep, int(tn.Nodes()[i].Index()))
			if nr == nil || !nr.Lied() || nr.Faults["malformed"] == 0 || !strings.Contains(nr.Error, want) {
				t.Fatalf("node %d: %+v, want a malformed fault saying %q", i, nr, want)
			}
		}
	})

	t.Run("disperser answers badly", func(t *testing.T) {
		defer tn.honest()
		for i := range tn.Nodes() {
			tn.set(i, &fault{withhold: func(uint32) bool { return true }})
		}
		for _, tc := range []struct {
			name, fault string
			h           http.HandlerFunc
		}{
			{"not JSON", "malformed", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "<html>hello</html>") }},
			{"oversized", "malformed", func(w http.ResponseWriter, r *http.Request) {
				w.Write([]byte(`{"cell":"0x` + strings.Repeat("00", 1<<20) + `"}`))
			}},
			{"wrong cell", "invalid", func(w http.ResponseWriter, r *http.Request) {
				// Forward to the real disperser, one cell over.
				var row, cell int
				var key string
				if _, err := fmt.Sscanf(strings.ReplaceAll(r.URL.Path, "/", " "), " v1 blobs %s cells %d %d", &key, &row, &cell); err == nil {
					r.URL.Path = fmt.Sprintf("/v1/blobs/%s/cells/%d/%d", key, row, (cell+1)%128)
				}
				resp, err := http.Get(tn.URL() + r.URL.Path)
				if err != nil {
					http.Error(w, err.Error(), 502)
					return
				}
				defer resp.Body.Close()
				w.WriteHeader(resp.StatusCode)
				io.Copy(w, resp.Body)
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				srv := httptest.NewServer(tc.h)
				defer srv.Close()
				s := tn.sampler(t, testConfig(), sampler.WithDisperser(srv.URL))
				rep := sample(t, s, small, 4)
				nr := nodeReport(rep, sampler.DisperserSource)
				if rep.Available || rep.Failed != 4 || nr == nil || nr.Faults[tc.fault] == 0 {
					t.Fatalf("%s: want every sample failed, the disperser %s:\n%s", tc.name, tc.fault, text(rep))
				}
			})
		}
	})

	t.Run("bad input", func(t *testing.T) {
		s := tn.sampler(t, testConfig())
		_, err := s.Sample(ctx, da.BlobKey{1, 2, 3})
		if !errors.Is(err, sampler.ErrUnknownBlob) || !strings.Contains(err.Error(), "0x010203") {
			t.Fatalf("unknown key: %v", err)
		}
		for _, n := range []int{0, -1, sampler.MaxSamples + 1} {
			if _, err := s.SampleN(ctx, small, n); !errors.Is(err, sampler.ErrConfig) {
				t.Fatalf("%d samples: %v", n, err)
			}
		}
		// More samples than cells: the whole grid, once each.
		if rep := sample(t, s, small, 512); len(rep.Samples) != 512 {
			t.Fatal(len(rep.Samples))
		}
		if _, err := s.SampleN(ctx, small, 513); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("follow", func(t *testing.T) {
		reg := prometheus.NewRegistry()
		s := tn.sampler(t, testConfig(), sampler.WithRegisterer(reg))
		fctx, cancel := context.WithCancel(ctx)
		var mu sync.Mutex
		got := map[da.BlobKey]*sampler.Report{}
		done := make(chan error, 1)
		go func() {
			done <- s.Follow(fctx, 0, func(c sampler.Checked) {
				if c.Err != nil {
					t.Errorf("%s: %v", c.Key, c.Err)
					return
				}
				mu.Lock()
				got[c.Key] = c.Report
				mu.Unlock()
			})
		}()
		time.Sleep(200 * time.Millisecond) // let Follow fix its start height
		fresh := tn.post(t, ctx, 5000, 6000)
		deadline := time.Now().Add(time.Minute)
		for {
			mu.Lock()
			n := 0
			for _, k := range fresh {
				if got[k] != nil {
					n++
				}
			}
			mu.Unlock()
			if n == len(fresh) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("followed %d of %d new blobs", n, len(fresh))
			}
			time.Sleep(50 * time.Millisecond)
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("Follow returned %v", err)
		}
		for _, k := range fresh {
			if !got[k].Available {
				t.Fatalf("%s:\n%s", k, text(got[k]))
			}
		}
		if _, ok := got[small]; ok {
			t.Fatal("Follow checked a blob certified before it started")
		}
		if v := testutil.ToFloat64(counter(t, reg, "zgda_sampler_blobs_total", "available")); v < 2 {
			t.Fatalf("blobs_total{available} = %v", v)
		}
	})
}

func nodeReport(r *sampler.Report, signer int) *sampler.NodeReport {
	for i := range r.Nodes {
		if r.Nodes[i].Signer == signer {
			return &r.Nodes[i]
		}
	}
	return nil
}

// counter finds a counter series by name and its only label's value.
func counter(t *testing.T, reg *prometheus.Registry, name, label string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) == 1 && m.GetLabel()[0].GetValue() == label {
				return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "x", Help: "x"}, func() float64 { return m.GetCounter().GetValue() })
			}
		}
	}
	t.Fatalf("no %s{%s}", name, label)
	return nil
}
