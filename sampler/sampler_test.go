package sampler_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
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

	"github.com/zgda/zgda/chain"
	"github.com/zgda/zgda/client"
	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/devnet"
	"github.com/zgda/zgda/dispersal"
	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/engine/api"
	"github.com/zgda/zgda/kzg"
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
	other    *da.BatchHeader       // another batch's (valid) header when one is asked for
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

// unplug takes every node's cell protocol off its host, so that no node
// can be asked for a cell (a stream for it cannot be opened), and returns
// what puts the fault-injecting handlers back.
func (tn *testNet) unplug() (replug func()) {
	for _, nd := range tn.Nodes() {
		nd.Host().RemoveStreamHandler(da.ProtocolCell)
	}
	return func() {
		for i, nd := range tn.Nodes() {
			p := tn.faults[i]
			nd.Host().SetStreamHandler(da.ProtocolCell, func(s network.Stream) { serveCell(nd, p.Load(), s) })
		}
	}
}

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
			// Blob 0's first commitment replaced by the point at infinity:
			// the blob header no longer hashes to its key.
			h := *resp.Header
			h.Blobs = slices.Clone(h.Blobs)
			h.Blobs[0].Commitments = slices.Clone(h.Blobs[0].Commitments)
			h.Blobs[0].Commitments[0] = da.Commitment{0xc0}
			resp.Header = &h
		}
		if f != nil && f.other != nil && resp.Header != nil {
			// A valid header of another batch: encode the answer as about
			// that batch (the encoder refuses a mismatch), then relabel it
			// with the root asked for.
			resp.Header, resp.Root = f.other, f.other.Root()
			var b bytes.Buffer
			if err := da.WriteFrame(&b, resp); err != nil {
				panic(err)
			}
			frame := b.Bytes()
			copy(frame[da.FrameHeaderSize+2:], asked.Root[:]) // version, type, then the root
			s.Write(frame)
			return
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

// post posts blobs through the disperser and waits until each is
// certified (the disperser may batch them together).
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

// disperseBatch makes one batch of blobs of the given sizes, in that order,
// disperses it to the DA nodes with the devnet's Dispatcher (not through
// the disperser's engine, which batches as it likes) and records its
// certificate on the chain.
func (tn *testNet) disperseBatch(t *testing.T, ctx context.Context, sizes ...int) *encoder.Batch {
	t.Helper()
	enc, err := encoder.New()
	if err != nil {
		t.Fatal(err)
	}
	var blobs []*encoder.Blob
	for _, n := range sizes {
		b, err := enc.CommitBlob(ctx, kzg.Default(), randBlob(t, n), nil)
		if err != nil {
			t.Fatal(err)
		}
		blobs = append(blobs, b)
	}
	bt, err := enc.EncodeBatch(ctx, kzg.Default(), blobs, nil)
	if err != nil {
		t.Fatal(err)
	}
	cl := tn.Chain().Client()
	cert, _, err := tn.Dispatcher().Disperse(ctx, bt)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := chain.NewCertificateTx(cert)
	if err != nil {
		t.Fatal(err)
	}
	res, err := cl.Submit(ctx, tx)
	if err == nil {
		err = res.Err()
	}
	if err != nil {
		t.Fatal(err)
	}
	return bt
}

// locate is where the chain puts blob key, as the Sampler sees it.
func (tn *testNet) locate(t *testing.T, ctx context.Context, key da.BlobKey) *dispersal.Location {
	t.Helper()
	d, err := dispersal.New(tn.Chain().Client(), dispersal.TestConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	loc, err := d.Locate(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	return loc
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
// cores (DA nodes and the disperser compute a dispersed row's cells on its
// first request).
func testConfig() sampler.Config {
	c := sampler.TestConfig()
	c.RequestTimeout = 2 * time.Minute // -race makes FK20 ~20× slower
	return c
}

// sample runs one check of blob key and fails the test if it could not be
// made.
func sample(t *testing.T, s *sampler.Sampler, key da.BlobKey, n int) *sampler.Report {
	t.Helper()
	rep, err := s.SampleN(ctxT(t, 5*time.Minute), key, n)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Samples) != n || rep.OK+rep.Failed+rep.Unanswered != n {
		t.Fatalf("%d samples, %d+%d+%d counted, want %d", len(rep.Samples), rep.OK, rep.Failed, rep.Unanswered, n)
	}
	if rep.Key != key || rep.IsBatch() || rep.Blobs != nil {
		t.Fatalf("the report of %s is for %s (index %d, %d blobs listed)", key, rep.Key, rep.Index, len(rep.Blobs))
	}
	checkGrid(t, rep)
	return rep
}

// checkGrid checks that the samples are distinct cells of the batch's
// N × 128 grid, N = 4D.
func checkGrid(t *testing.T, rep *sampler.Report) {
	t.Helper()
	if rep.DataRows < 1 || rep.DispersedRows != da.ExtensionFactor*rep.DataRows {
		t.Fatalf("grid of %d rows for D = %d, want N = 4D", rep.DispersedRows, rep.DataRows)
	}
	seen := map[[2]int]bool{}
	for _, smp := range rep.Samples {
		c := [2]int{int(smp.Row), int(smp.Cell)}
		if smp.Row >= uint32(rep.DispersedRows) || smp.Cell >= da.CellsPerRow || seen[c] {
			t.Fatalf("sample (%d, %d) out of the %d × %d grid or repeated", smp.Row, smp.Cell, rep.DispersedRows, da.CellsPerRow)
		}
		seen[c] = true
	}
}

func text(r *sampler.Report) string {
	var sb strings.Builder
	r.WriteText(&sb)
	return sb.String()
}

func TestSampler(t *testing.T) {
	tn := startNet(t)
	ctx := ctxT(t, 15*time.Minute) // about a minute; several under -race
	// A blob of R = 1 alone in its batch: D = 1, N = 4 dispersed rows, each
	// on ~64 of the window's 256 slots, so every node holds every row.
	small := tn.post(t, ctx, 1000)[0]
	if loc := tn.locate(t, ctx, small); len(loc.Blobs) != 1 || loc.Window.N != 4 {
		t.Fatalf("the small blob's batch has %d blobs and N = %d, want it alone with N = 4", len(loc.Blobs), loc.Window.N)
	}
	// A batch of two blobs, R = 1 and R = 2: D = 3, K = 4 (one padding
	// row), N = 12.
	multi := tn.disperseBatch(t, ctx, 5000, da.BytesPerRow+7)
	mkeys := []da.BlobKey{multi.Blobs[0].Key, multi.Blobs[1].Key}

	t.Run("honest", func(t *testing.T) {
		s := tn.sampler(t, testConfig())
		for _, key := range append([]da.BlobKey{small}, mkeys...) {
			rep := sample(t, s, key, 16)
			if !rep.Available || rep.OK != 16 || rep.Confidence < 0.999 {
				t.Fatalf("honest devnet:\n%s", text(rep))
			}
			if len(rep.Liars()) != 0 || (len(rep.Unresponsive()) != 0 && !raceEnabled) {
				t.Fatalf("honest nodes blamed:\n%s", text(rep))
			}
			for _, smp := range rep.Samples {
				if smp.From == nil || *smp.From < 0 || (len(smp.Tries) != 0 && !raceEnabled) {
					t.Fatalf("sample %+v: not served by a DA node at first try", smp)
				}
			}
		}
		// The blobs of the two-blob batch are reported in their batch: the
		// whole batch's grid is sampled for either.
		for i, key := range mkeys {
			rep := sample(t, s, key, 16)
			want := sampler.Report{Key: key, Index: i, Offset: i, Rows: uint32(i + 1), BatchRoot: multi.Root,
				BatchBlobs: 2, DataRows: 3, DispersedRows: 12}
			if rep.Index != want.Index || rep.Offset != want.Offset || rep.Rows != want.Rows || rep.BatchRoot != want.BatchRoot ||
				rep.BatchBlobs != want.BatchBlobs || rep.DataRows != want.DataRows || rep.DispersedRows != want.DispersedRows {
				t.Fatalf("blob %d: report %+v, want the place %+v", i, rep, want)
			}
			if out := text(rep); !strings.Contains(out, fmt.Sprintf("blob %d of 2 in batch %s", i, multi.Root)) || !strings.Contains(out, "N = 12 dispersed rows") {
				t.Fatalf("report text:\n%s", out)
			}
		}
		// The batch itself, by root: data rows, and parity rows whose
		// commitments are derived past the padding row, all verify.
		rep, err := s.SampleBatchN(ctx, multi.Root, 96)
		if err != nil {
			t.Fatal(err)
		}
		checkGrid(t, rep)
		if !rep.IsBatch() || rep.Key != (da.BlobKey{}) || !slices.Equal(rep.Blobs, multi.Header.Entries()) || !rep.Available {
			t.Fatalf("batch report (key %s, index %d, blobs %v):\n%s", rep.Key, rep.Index, rep.Blobs, text(rep))
		}
		var data, parity int
		for _, smp := range rep.Samples {
			if smp.Row < 3 {
				data++
			} else {
				parity++
			}
		}
		if data == 0 || parity == 0 { // probability below 10^-11 by chance
			t.Fatalf("%d data and %d parity samples of 96", data, parity)
		}
		if out := text(rep); !strings.Contains(out, "batch "+multi.Root.String()+": AVAILABLE") {
			t.Fatalf("batch report text:\n%s", out)
		}
		// Samples are spread: with every node holding every row of the
		// small blob's batch, each of the 4 nodes serves 4 of 16.
		rep = sample(t, s, small, 16)
		if len(rep.Nodes) != len(tn.Nodes()) {
			t.Fatalf("%d nodes asked, want all %d:\n%s", len(rep.Nodes), len(tn.Nodes()), text(rep))
		}
		// The whole grid of the small blob's batch: 512 cells, every one
		// verifies.
		if rep := sample(t, s, small, 512); !rep.Available {
			t.Fatalf("whole grid:\n%s", text(rep))
		}
		// The disperser is asked only for what no DA node served: here,
		// nothing.
		s = tn.sampler(t, testConfig(), sampler.WithDisperser(tn.URL()))
		if rep := sample(t, s, small, 16); !rep.Available || rep.Disperser != nil || rep.DisperserAsked() != 0 {
			t.Fatalf("honest nodes, the disperser configured:\n%s", text(rep))
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

		// The disperser still has the batch and serves the withheld cells:
		// they are verified and reported apart, and the batch stays
		// unavailable, the nodes still named.
		s = tn.sampler(t, testConfig(), sampler.WithDisperser(tn.URL()))
		rep = sample(t, s, small, 16)
		if rep.Available || rep.Confidence != 0 || rep.Unanswered == 0 || len(rep.Unresponsive()) != len(tn.Nodes()) {
			t.Fatalf("half the grid withheld, the disperser serving it:\n%s", text(rep))
		}
		if d := rep.Disperser; d == nil || d.Served != rep.Unanswered || rep.DisperserAsked() != rep.Unanswered || d.Lied() {
			t.Fatalf("the disperser's part %+v, want the %d withheld cells served:\n%s", d, rep.Unanswered, text(rep))
		}
		for _, smp := range rep.Samples {
			withheld := smp.Row < 2
			if withheld != (smp.Outcome == sampler.Unanswered) || withheld != (smp.From == nil) ||
				withheld != (smp.Disperser == sampler.OK) || (!withheld && (smp.Disperser != 0 || *smp.From < 0)) {
				t.Fatalf("sample (%d, %d): %s from %v, disperser %v", smp.Row, smp.Cell, smp.Outcome, smp.From, smp.Disperser)
			}
		}
	})

	t.Run("every DA node withholds, the disperser serves", func(t *testing.T) {
		defer tn.honest()
		for i := range tn.Nodes() {
			tn.set(i, &fault{withhold: func(uint32) bool { return true }})
		}
		reg := prometheus.NewRegistry()
		s := tn.sampler(t, testConfig(), sampler.WithDisperser(tn.URL()), sampler.WithRegisterer(reg))
		rep := sample(t, s, small, 16)
		checkDisperserOnly(t, tn, rep, 16)
		for _, smp := range rep.Samples {
			if len(smp.Tries) != len(tn.Nodes()) {
				t.Fatalf("sample (%d, %d) asked %d holders, want all %d", smp.Row, smp.Cell, len(smp.Tries), len(tn.Nodes()))
			}
		}
		if got := rep.Unresponsive(); len(got) != len(tn.Nodes()) {
			t.Fatalf("unresponsive %v, want every node:\n%s", got, text(rep))
		}
		// The verdict's metrics hold no disperser cell either.
		for _, c := range []struct {
			name, label string
			want        float64
		}{
			{"zgda_sampler_samples_total", "ok", 0},
			{"zgda_sampler_samples_total", "unanswered", 16},
			{"zgda_sampler_batches_total", "unavailable", 1},
			{"zgda_sampler_batches_total", "available", 0},
		} {
			if got := testutil.ToFloat64(counter(t, reg, c.name, c.label)); got != c.want {
				t.Fatalf("%s{%s} = %v, want %v", c.name, c.label, got, c.want)
			}
		}
		// The batch by root, the same.
		brep, err := s.SampleBatchN(ctx, tn.locate(t, ctx, small).Root, 16)
		if err != nil {
			t.Fatal(err)
		}
		checkDisperserOnly(t, tn, brep, 16)

		// No DA node can be reached at all (their cell protocol is gone):
		// still unavailable, whatever the disperser serves.
		replug := tn.unplug()
		defer replug()
		s = tn.sampler(t, testConfig(), sampler.WithDisperser(tn.URL()))
		rep = sample(t, s, small, 16)
		checkDisperserOnly(t, tn, rep, 16)
		for _, n := range rep.Nodes {
			if n.Faults["unreachable"] == 0 || n.Served != 0 {
				t.Fatalf("node %s: %+v, want it unreachable", n.Name, n)
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
		// A fresh sampler has no cached header: node 2's lie is its header,
		// whose first blob header no longer hashes to its key.
		s = tn.sampler(t, testConfig())
		for _, i := range []int{0, 1, 3} {
			tn.set(i, &fault{withhold: func(uint32) bool { return true }})
		}
		rep = sample(t, s, small, 4)
		if rep.Available || rep.Failed != 4 {
			t.Fatalf("only a liar serves:\n%s", text(rep))
		}
		if nr := nodeReport(rep, int(tn.Nodes()[2].Index())); nr == nil || !nr.Lied() || !strings.Contains(nr.Error, "hashes to") {
			t.Fatalf("node 2 not blamed for its header: %+v", nr)
		}
	})

	t.Run("header of another batch", func(t *testing.T) {
		defer tn.honest()
		// Node 3 answers with the two-blob batch's header, a valid one, but
		// not the small blob's batch's: it does not match the root asked
		// about, so node 3 lies.
		tn.set(3, &fault{other: &multi.Header})
		for _, i := range []int{0, 1, 2} {
			tn.set(i, &fault{withhold: func(uint32) bool { return true }})
		}
		s := tn.sampler(t, testConfig())
		rep := sample(t, s, small, 4)
		if rep.Available || rep.Failed != 4 {
			t.Fatalf("only a liar serves:\n%s", text(rep))
		}
		if liars := rep.Liars(); !slices.Equal(liars, []int{int(tn.Nodes()[3].Index())}) {
			t.Fatalf("liars %v, want node 3 only:\n%s", liars, text(rep))
		}
		nr := nodeReport(rep, int(tn.Nodes()[3].Index()))
		if nr.Faults["malformed"] == 0 || !strings.Contains(nr.Error, "batch header with root "+multi.Root.String()) {
			t.Fatalf("node 3: %+v, want a malformed answer naming the other root", nr)
		}
		// With the honest nodes back, node 3's header does not stop the
		// check: another holder's header is taken.
		for _, i := range []int{0, 1, 2} {
			tn.set(i, nil)
		}
		s = tn.sampler(t, testConfig())
		rep = sample(t, s, small, 16)
		if !rep.Available {
			t.Fatalf("three honest holders of every row:\n%s", text(rep))
		}
		for _, l := range rep.Liars() {
			if l != int(tn.Nodes()[3].Index()) {
				t.Fatalf("honest node %d named a liar:\n%s", l, text(rep))
			}
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
			name, fault, want string
			h                 http.HandlerFunc
		}{
			{"not JSON", "malformed", "bad answer", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "<html>hello</html>") }},
			{"oversized", "malformed", "exceeds", func(w http.ResponseWriter, r *http.Request) {
				w.Write([]byte(`{"cell":"0x` + strings.Repeat("00", 1<<20) + `"}`))
			}},
			{"another batch's header", "malformed", "bad batch header", func(w http.ResponseWriter, r *http.Request) {
				// The two-blob batch's header, labelled with the root asked
				// about; cells from the real disperser.
				if root, ok := strings.CutPrefix(r.URL.Path, "/v1/batches/"); ok && !strings.Contains(root, "/") {
					b := api.NewBatch(&multi.Header, nil)
					if err := b.BatchRoot.UnmarshalText([]byte(root)); err != nil {
						http.Error(w, err.Error(), 400)
						return
					}
					json.NewEncoder(w).Encode(b)
					return
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
			{"wrong cell", "invalid", "does not verify", func(w http.ResponseWriter, r *http.Request) {
				// Forward to the real disperser, one cell over.
				var row, cell int
				var root string
				if _, err := fmt.Sscanf(strings.ReplaceAll(r.URL.Path, "/", " "), " v1 batches %s cells %d %d", &root, &row, &cell); err == nil {
					r.URL.Path = fmt.Sprintf("/v1/batches/%s/cells/%d/%d", root, row, (cell+1)%128)
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
				nr := rep.Disperser
				if rep.Available || rep.Unanswered != 4 || nr == nil || nr.Served != 0 || !nr.Lied() ||
					nr.Faults[tc.fault] == 0 || !strings.Contains(nr.Error, tc.want) {
					t.Fatalf("%s: want every sample unanswered, the disperser %s saying %q:\n%s", tc.name, tc.fault, tc.want, text(rep))
				}
				for _, smp := range rep.Samples {
					if smp.Disperser != sampler.Failed {
						t.Fatalf("sample (%d, %d): disperser %v, want failed", smp.Row, smp.Cell, smp.Disperser)
					}
				}
				if out := text(rep); !strings.Contains(out, "LIED: disperser "+srv.URL) {
					t.Fatalf("report does not name the disperser:\n%s", out)
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
		_, err = s.SampleBatch(ctx, da.Hash{4, 5, 6})
		if !errors.Is(err, sampler.ErrUnknownBatch) || !strings.Contains(err.Error(), "0x040506") {
			t.Fatalf("unknown root: %v", err)
		}
		for _, n := range []int{0, -1, sampler.MaxSamples + 1} {
			if _, err := s.SampleN(ctx, small, n); !errors.Is(err, sampler.ErrConfig) {
				t.Fatalf("%d samples: %v", n, err)
			}
			if _, err := s.SampleBatchN(ctx, multi.Root, n); !errors.Is(err, sampler.ErrConfig) {
				t.Fatalf("%d samples of a batch: %v", n, err)
			}
		}
		// More samples than cells: the whole grid, once each.
		rep, err := s.SampleN(ctx, small, 513)
		if err != nil || len(rep.Samples) != 512 {
			t.Fatalf("513 samples of 512 cells: %v", err)
		}
		checkGrid(t, rep)
	})

	t.Run("follow", func(t *testing.T) {
		reg := prometheus.NewRegistry()
		s := tn.sampler(t, testConfig(), sampler.WithRegisterer(reg))
		fctx, cancel := context.WithCancel(ctx)
		var mu sync.Mutex
		got := map[da.BlobKey]sampler.Checked{}
		done := make(chan error, 1)
		// Follow from the next block on: the blobs sampled above were
		// certified before it.
		st, err := tn.Chain().Client().Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			done <- s.Follow(fctx, st.Height+1, func(c sampler.Checked) {
				if c.Err != nil {
					t.Errorf("%s: %v", c.Key, c.Err)
					return
				}
				mu.Lock()
				got[c.Key] = c
				mu.Unlock()
			})
		}()
		// One batch of three blobs, and blobs through the disperser.
		three := tn.disperseBatch(t, ctx, 3000, 4000, 2*da.BytesPerRow)
		fresh := tn.post(t, ctx, 5000, 6000)
		for _, b := range three.Blobs {
			fresh = append(fresh, b.Key)
		}
		deadline := time.Now().Add(2 * time.Minute)
		for {
			mu.Lock()
			n := 0
			for _, k := range fresh {
				if _, ok := got[k]; ok {
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
		roots := map[da.Hash]bool{}
		for _, k := range fresh {
			c := got[k]
			if !c.Report.Available || c.Report.Key != k || c.Cert.Certificate.Blobs[c.Index].Key != k ||
				c.Root != c.Cert.Certificate.BatchRoot || c.Report.BatchRoot != c.Root || c.Report.Index != c.Index {
				t.Fatalf("%s (index %d of batch %s):\n%s", k, c.Index, c.Root, text(c.Report))
			}
			roots[c.Root] = true
		}
		// The three-blob batch was sampled once: its blobs' reports share
		// one set of samples.
		var first *sampler.Report
		for i, b := range three.Blobs {
			rep := got[b.Key].Report
			if rep.Index != i || rep.Offset != []int{0, 1, 2}[i] || len(rep.Samples) != 16 {
				t.Fatalf("blob %d of the three: %+v", i, rep)
			}
			if first == nil {
				first = rep
			} else if &rep.Samples[0] != &first.Samples[0] {
				t.Fatal("a blob of the three-blob batch was sampled apart from its batch")
			}
		}
		if _, ok := got[small]; ok {
			t.Fatal("Follow checked a blob certified before it started")
		}
		batches := testutil.ToFloat64(counter(t, reg, "zgda_sampler_batches_total", "available"))
		blobs := testutil.ToFloat64(counter(t, reg, "zgda_sampler_blobs_total", "available"))
		if batches != float64(len(roots)) || blobs != float64(len(fresh)) {
			t.Fatalf("batches_total{available} = %v, blobs_total{available} = %v; want %d batches, %d blobs", batches, blobs, len(roots), len(fresh))
		}
	})
}

// checkDisperserOnly checks the report of a check in which no DA node
// served a cell and the disperser served all n: unavailable, confidence 0,
// the disperser's cells apart in the report, its text and its JSON.
func checkDisperserOnly(t *testing.T, tn *testNet, rep *sampler.Report, n int) {
	t.Helper()
	if rep.Available || rep.Confidence != 0 || rep.OK != 0 || rep.Unanswered != n {
		t.Fatalf("the DA nodes served nothing, the disperser everything: want unavailable:\n%s", text(rep))
	}
	d := rep.Disperser
	if d == nil || d.Signer != sampler.DisperserSource || d.Served != n || d.Asked != n || d.Lied() || rep.DisperserAsked() != n {
		t.Fatalf("the disperser's part %+v, want %d cells served at first ask:\n%s", d, n, text(rep))
	}
	for _, smp := range rep.Samples {
		if smp.Outcome != sampler.Unanswered || smp.From != nil || smp.Disperser != sampler.OK {
			t.Fatalf("sample (%d, %d): %s from %v, disperser %v", smp.Row, smp.Cell, smp.Outcome, smp.From, smp.Disperser)
		}
	}
	if nodeReport(rep, sampler.DisperserSource) != nil {
		t.Fatalf("the disperser is listed among the DA nodes:\n%s", text(rep))
	}
	out := text(rep)
	for _, want := range []string{"UNAVAILABLE", fmt.Sprintf("disperser %s: has %d of the %d cells the DA nodes did not serve", tn.URL(), n, n),
		"no evidence of availability", "disperser: ok"} {
		if !strings.Contains(out, want) {
			t.Fatalf("report text lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "confidence:") {
		t.Fatalf("an unavailable report states a confidence:\n%s", out)
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Available  bool                `json:"available"`
		OK         int                 `json:"ok"`
		Confidence float64             `json:"confidence"`
		Disperser  *sampler.NodeReport `json:"disperser_cells"`
		Samples    []struct {
			Disperser string `json:"disperser"`
		} `json:"samples"`
	}
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Available || back.OK != 0 || back.Confidence != 0 || back.Disperser == nil || back.Disperser.Served != n ||
		len(back.Samples) != n || back.Samples[0].Disperser != "ok" {
		t.Fatalf("JSON report: %s", b)
	}
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
