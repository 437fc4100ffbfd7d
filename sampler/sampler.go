package sampler

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zgda/zgda/chain"
	"github.com/zgda/zgda/client"
	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/dispersal"
	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/kzg"
)

// Sentinel errors. Sample returns them for checks that could not start; an
// unavailable batch is a Report, not an error.
var (
	// ErrUnknownBlob: the chain has no certified batch holding the blob.
	ErrUnknownBlob = errors.New("sampler: unknown blob")
	// ErrUnknownBatch: the chain has no certificate for the batch root.
	ErrUnknownBatch = errors.New("sampler: unknown batch")
)

// Sampler checks certified batches by sampling. It is safe for concurrent
// use.
type Sampler struct {
	cfg   Config
	chain chain.Client
	d     *dispersal.Dispatcher
	kzg   *kzg.Context
	http  *client.Client // the disperser's HTTP API, or nil
	url   string
	log   *slog.Logger
	met   *metrics

	mu      sync.Mutex
	batches map[da.Hash]*batch
}

// batch is a batch header that checked against its root, with the
// commitments of all N dispersed rows.
type batch struct {
	hdr   *da.BatchHeader
	comms []kzg.Commitment
}

// batchCacheLimit bounds the accepted headers kept (each at most a 256-blob
// header and 1024 commitments, about 72 KiB).
const batchCacheLimit = 256

// Option adjusts New.
type Option func(*options)

type options struct {
	host host.Host
	kzg  *kzg.Context
	log  *slog.Logger
	reg  prometheus.Registerer
	url  string
}

// WithHost dials DA nodes from h instead of a fresh dial-only host.
func WithHost(h host.Host) Option { return func(o *options) { o.host = h } }

// WithKZG uses c instead of kzg.Default().
func WithKZG(c *kzg.Context) Option { return func(o *options) { o.kzg = c } }

// WithLogger sends the Sampler's logs to l (default: discard).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithRegisterer exports the Sampler's Prometheus metrics on r.
func WithRegisterer(r prometheus.Registerer) Option { return func(o *options) { o.reg = r } }

// WithDisperser also asks the disperser's HTTP API at baseURL (GET
// /v1/batches/{root}/cells/{n}/{c}, and /v1/batches/{root} for the header;
// docs/spec.md §7) for each sample that no DA node served, once the DA
// nodes have had every try. Its cells are verified like the nodes' and
// reported apart (Report.Disperser, Sample.Disperser), but they are no
// evidence of availability (docs/spec.md §3.6): they only say whether the
// disperser still has the data the DA nodes did not serve.
func WithDisperser(baseURL string) Option { return func(o *options) { o.url = baseURL } }

// New returns a Sampler that reads certificates, quorums and the signer
// registry through c.
func New(c chain.Client, cfg Config, opts ...Option) (*Sampler, error) {
	if err := cfg.ValidateBasic(); err != nil {
		return nil, err
	}
	var o options
	for _, f := range opts {
		f(&o)
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	if o.kzg == nil {
		o.kzg = kzg.Default()
	}
	dc := dispersal.DefaultConfig()
	dc.FetchTimeout, dc.DialTimeout = cfg.RequestTimeout, cfg.DialTimeout
	dopts := []dispersal.Option{dispersal.WithKZG(o.kzg), dispersal.WithLogger(o.log)}
	if o.host != nil {
		dopts = append(dopts, dispersal.WithHost(o.host))
	}
	d, err := dispersal.New(c, dc, dopts...)
	if err != nil {
		return nil, fmt.Errorf("sampler: %w", err)
	}
	s := &Sampler{cfg: cfg, chain: c, d: d, kzg: o.kzg, log: o.log, url: o.url,
		met: newMetrics(o.reg), batches: make(map[da.Hash]*batch)}
	if o.url != "" {
		s.http = client.New(o.url, client.WithMaxResponseBytes(maxHTTPAnswer))
	}
	return s, nil
}

// maxHTTPAnswer bounds a disperser answer: a cell and proof in hex, or the
// header of the largest batch (256 blob headers, 256 commitments) in JSON.
const maxHTTPAnswer = 256 << 10

// Close releases the Sampler's own libp2p host.
func (s *Sampler) Close() error { return s.d.Close() }

// Config is the Sampler's configuration.
func (s *Sampler) Config() Config { return s.cfg }

// Sample checks blob key with Config.Samples cells of its batch.
func (s *Sampler) Sample(ctx context.Context, key da.BlobKey) (*Report, error) {
	return s.SampleN(ctx, key, s.cfg.Samples)
}

// SampleN checks blob key by sampling n cells, drawn at random, of the
// batch the chain most recently certified it in (at most the whole N × 128
// grid). It returns an error only if the check could not be made;
// otherwise the Report, which names the blob and its place in the batch,
// says what was found.
func (s *Sampler) SampleN(ctx context.Context, key da.BlobKey, n int) (*Report, error) {
	if err := checkSamples(n); err != nil {
		return nil, err
	}
	loc, err := s.d.Locate(ctx, key)
	if errors.Is(err, dispersal.ErrNotFound) {
		return nil, fmt.Errorf("%w: the chain has no certified batch holding blob %s (is it certified yet? is this the right chain?)", ErrUnknownBlob, key)
	}
	if err != nil {
		return nil, fmt.Errorf("sampler: %w", err)
	}
	rep, err := s.check(ctx, loc, n, 1)
	if err != nil {
		return nil, err
	}
	return rep.ForBlob(loc.Index), nil
}

// SampleBatch checks the certified batch with root root with
// Config.Samples cells.
func (s *Sampler) SampleBatch(ctx context.Context, root da.Hash) (*Report, error) {
	return s.SampleBatchN(ctx, root, s.cfg.Samples)
}

// SampleBatchN checks the certified batch with root root by sampling n
// cells of its N × 128 grid. The Report is the batch's (Key is zero; Blobs
// lists the batch's blobs, ForBlob gives each one's report).
func (s *Sampler) SampleBatchN(ctx context.Context, root da.Hash, n int) (*Report, error) {
	if err := checkSamples(n); err != nil {
		return nil, err
	}
	loc, err := s.d.LocateBatch(ctx, root)
	if errors.Is(err, dispersal.ErrNotFound) {
		return nil, fmt.Errorf("%w: the chain has no certificate for batch %s", ErrUnknownBatch, root)
	}
	if err != nil {
		return nil, fmt.Errorf("sampler: %w", err)
	}
	return s.check(ctx, loc, n, len(loc.Blobs))
}

func checkSamples(n int) error {
	if n < 1 || n > MaxSamples {
		return fmt.Errorf("%w: %d samples, want 1 to %d", ErrConfig, n, MaxSamples)
	}
	return nil
}

// check samples the located batch; blobs is how many blob verdicts the
// check stands for (in the metrics).
func (s *Sampler) check(ctx context.Context, loc *dispersal.Location, n, blobs int) (*Report, error) {
	start := time.Now()
	reg, err := s.d.Signers(ctx)
	if err != nil {
		return nil, fmt.Errorf("sampler: %w", err)
	}
	rows := loc.Window.N // N = 4D: the grid is N × 128 (docs/spec.md §3.5)
	rep := &Report{BatchRoot: loc.Root, BatchBlobs: len(loc.Blobs), Blobs: slices.Clone(loc.Blobs), Index: -1,
		DataRows: rows / da.ExtensionFactor, DispersedRows: rows,
		Epoch: loc.Epoch, Quorum: loc.Quorum, CertHeight: loc.Height}
	cells, err := draw(uint32(rows), n)
	if err != nil {
		return nil, err
	}
	r := &run{s: s, root: loc.Root, reg: reg, rep: rep, nodes: make(map[int]*NodeReport), b: s.batch(loc.Root)}
	r.plan(loc, cells)
	if err := r.rounds(ctx); err != nil {
		return nil, err
	}
	// Only now, with the verdict's evidence complete, the disperser: its
	// cells go to Sample.Disperser and Report.Disperser, never to Outcome.
	if s.http != nil && r.planDisperser() {
		if err := r.rounds(ctx); err != nil {
			return nil, err
		}
	}
	rep.tally(r.nodes, r.disp)
	rep.Elapsed = time.Since(start)
	s.met.observe(rep, blobs)
	return rep, nil
}

// cellRef names one cell of the batch's N × 128 grid.
type cellRef struct {
	row  uint32
	cell uint16
}

// draw picks n distinct cells of a grid of rows × 128 with crypto/rand,
// by a partial Fisher–Yates over the grid's indices.
func draw(rows uint32, n int) ([]cellRef, error) {
	total := int(rows) * da.CellsPerRow
	n = min(n, total)
	swapped := make(map[int]int, n) // sparse permutation
	at := func(i int) int {
		if v, ok := swapped[i]; ok {
			return v
		}
		return i
	}
	out := make([]cellRef, n)
	var buf [8]byte
	for i := 0; i < n; i++ {
		if _, err := rand.Read(buf[:]); err != nil {
			return nil, fmt.Errorf("sampler: drawing cells: %w", err)
		}
		// Modulo bias is below 2^-40 for any grid here (≤ 2^17 cells).
		j := i + int(binary.BigEndian.Uint64(buf[:])%uint64(total-i))
		vi, vj := at(i), at(j)
		swapped[i], swapped[j] = vj, vi
		out[i] = cellRef{row: uint32(vj / da.CellsPerRow), cell: uint16(vj % da.CellsPerRow)}
	}
	return out, nil
}

func (s *Sampler) batch(root da.Hash) *batch {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.batches[root]
}

// accept takes a batch header that passed dispersal.VerifyBatchHeader with
// the commitments of its N dispersed rows (docs/spec.md §3.4): the data
// rows' are the header's, the parity rows' are derived from them in G1. It
// caches the batch only if cache is set: a header only the disperser served
// is used for the disperser's cells of this check and not kept, so that a
// later check asks the DA nodes for it again.
func (s *Sampler) accept(root da.Hash, h *da.BatchHeader, cache bool) (*batch, error) {
	comms, err := encoder.RowCommitments(s.kzg, h)
	if err != nil {
		return nil, err
	}
	b := &batch{hdr: h, comms: comms}
	if !cache {
		return b, nil
	}
	s.mu.Lock()
	if len(s.batches) >= batchCacheLimit {
		clear(s.batches)
	}
	s.batches[root] = b
	s.mu.Unlock()
	return b, nil
}

// run is the state of one batch's check.
type run struct {
	s     *Sampler
	root  da.Hash
	reg   []chain.SignerInfo
	rep   *Report
	nodes map[int]*NodeReport // the DA nodes asked, by signer
	disp  *NodeReport         // the disperser, once asked
	b     *batch              // nil until a header checks
	todo  []*pending

	// The disperser's header, fetched once per check however many answers
	// come from it (a failed fetch is tried again by the next request).
	httpMu  sync.Mutex
	httpHdr *da.BatchHeader
}

// pending is a sample still without a verified cell, and the sources left
// to ask, in order: the DA nodes holding its row, or (disp) the disperser
// alone.
type pending struct {
	idx     int // into rep.Samples
	disp    bool
	queue   []int
	retried map[int]int
}

// outcome is what p's answers decide: the sample's Outcome for the DA
// nodes, its Disperser field for the disperser.
func (r *run) outcome(p *pending) *Outcome {
	if p.disp {
		return &r.rep.Samples[p.idx].Disperser
	}
	return &r.rep.Samples[p.idx].Outcome
}

// plan lists each sample's holders, least-asked first so that the samples
// spread over as many nodes as possible (a liar among them is asked), with
// ties broken at random. Only DA nodes are listed: the disperser is asked
// apart (planDisperser).
func (r *run) plan(loc *dispersal.Location, cells []cellRef) {
	load := make(map[uint32]int)
	for i, c := range cells {
		r.rep.Samples = append(r.rep.Samples, Sample{Row: c.row, Cell: c.cell, Outcome: Unanswered})
		hs := loc.Holders(c.row)
		mrand.Shuffle(len(hs), func(a, b int) { hs[a], hs[b] = hs[b], hs[a] })
		sort.SliceStable(hs, func(a, b int) bool { return load[hs[a]] < load[hs[b]] })
		p := &pending{idx: i}
		for _, h := range hs {
			p.queue = append(p.queue, int(h))
		}
		if len(hs) > 0 {
			load[hs[0]]++
		}
		r.todo = append(r.todo, p)
	}
}

// planDisperser queues the disperser for every sample the DA nodes did not
// serve, and reports whether there is any.
func (r *run) planDisperser() bool {
	r.todo = r.todo[:0]
	for i := range r.rep.Samples {
		if s := &r.rep.Samples[i]; s.Outcome != OK {
			s.Disperser = Unanswered
			r.todo = append(r.todo, &pending{idx: i, disp: true, queue: []int{DisperserSource}})
		}
	}
	return len(r.todo) > 0
}

// answer is one request's result.
type answer struct {
	p     *pending
	src   int
	hdr   *da.BatchHeader
	elems []fr.Element
	proof kzg.Proof
	fault Fault
	err   error
}

// rounds asks, verifies and re-plans until every sample is OK or has no
// source left.
func (r *run) rounds(ctx context.Context) error {
	backoff := r.s.cfg.Backoff
	for len(r.todo) > 0 {
		var batch []*answer
		retry := false
		for _, p := range r.todo {
			if len(p.queue) == 0 {
				continue
			}
			src := p.queue[0]
			p.queue = p.queue[1:]
			retry = retry || p.retried[src] > 0
			batch = append(batch, &answer{p: p, src: src})
		}
		if len(batch) == 0 {
			break
		}
		if retry && backoff > 0 {
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return fmt.Errorf("sampler: batch %s: %w", r.root, ctx.Err())
			}
			backoff = min(2*backoff, 5*time.Second)
		}
		r.ask(ctx, batch)
		if ctx.Err() != nil {
			return fmt.Errorf("sampler: batch %s: %w", r.root, ctx.Err())
		}
		if err := r.check(batch); err != nil {
			return err
		}
		r.settle(batch)
	}
	return nil
}

// ask sends the batch's requests, at most Config.Concurrency at once.
func (r *run) ask(ctx context.Context, batch []*answer) {
	wantHeader := r.b == nil
	sem := make(chan struct{}, r.s.cfg.Concurrency)
	var wg sync.WaitGroup
	for _, a := range batch {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			s := &r.rep.Samples[a.p.idx]
			if a.src == DisperserSource {
				r.askHTTP(ctx, a, s, wantHeader)
			} else {
				r.askNode(ctx, a, s, wantHeader)
			}
		}()
	}
	wg.Wait()
}

func (r *run) askNode(ctx context.Context, a *answer, s *Sample, wantHeader bool) {
	if a.src >= len(r.reg) {
		a.fault, a.err = Unreachable, fmt.Errorf("signer %d is not in the registry", a.src)
		return
	}
	req := &da.CellRequest{Root: r.root, Row: s.Row, Cell: s.Cell, WantHeader: wantHeader}
	m, err := r.s.d.Ask(ctx, r.reg[a.src], da.ProtocolCell, req, da.MaxCellResponseSize)
	if err != nil {
		a.fault, a.err = faultOf(err), err
		return
	}
	resp, ok := m.(*da.CellResponse)
	switch {
	case !ok:
		a.fault, a.err = Malformed, fmt.Errorf("answered a cell request with a %s", m.Type())
		return
	case resp.Root != r.root || resp.Row != s.Row || resp.Cell != s.Cell:
		a.fault, a.err = Malformed, fmt.Errorf("answered for cell (%d, %d) of batch %s, not (%d, %d) of %s", resp.Row, resp.Cell, resp.Root, s.Row, s.Cell, r.root)
		return
	case wantHeader && resp.Header == nil:
		a.fault, a.err = Malformed, errors.New("the answer lacks the batch header that was asked for")
		return
	}
	a.hdr = resp.Header
	a.parse(resp.Data, resp.Proof[:])
}

func (r *run) askHTTP(ctx context.Context, a *answer, s *Sample, wantHeader bool) {
	hctx, cancel := context.WithTimeout(ctx, r.s.cfg.RequestTimeout)
	defer cancel()
	if wantHeader {
		h, err := r.disperserHeader(hctx)
		if err != nil {
			a.fault, a.err = httpFault(err), fmt.Errorf("batch header: %w", err)
			return
		}
		a.hdr = h
	}
	c, err := r.s.http.GetCell(hctx, r.root, int(s.Row), int(s.Cell))
	if err != nil {
		a.fault, a.err = httpFault(err), err
		return
	}
	a.parse(c.Cell, c.Proof[:])
}

// disperserHeader reads the batch header from the disperser once per check
// (checked like any other header).
func (r *run) disperserHeader(ctx context.Context) (*da.BatchHeader, error) {
	r.httpMu.Lock()
	defer r.httpMu.Unlock()
	if r.httpHdr != nil {
		return r.httpHdr, nil
	}
	b, err := r.s.http.GetBatch(ctx, r.root)
	if err != nil {
		return nil, err
	}
	if b.BatchRoot != r.root {
		return nil, fmt.Errorf("%w: asked for batch %s, got %s", errBadHeader, r.root, b.BatchRoot)
	}
	h, err := b.Header()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadHeader, err)
	}
	r.httpHdr = h
	return h, nil
}

// parse reads a cell and proof; bytes that are not field elements or not a
// G1 point are malformed.
func (a *answer) parse(cell, proof []byte) {
	elems, err := kzg.ParseCell(cell)
	if err != nil {
		a.fault, a.err = Malformed, fmt.Errorf("cell: %w", err)
		return
	}
	p, err := kzg.ParseProof(proof)
	if err != nil {
		a.fault, a.err = Malformed, fmt.Errorf("proof: %w", err)
		return
	}
	a.elems, a.proof = elems, p
}

// check accepts the first batch header that checks against the root (an
// answer with one that does not is Invalid: its sender lied), then
// verifies every cell of the round at once; only if that fails are they
// verified one by one to name the bad ones.
func (r *run) check(batch []*answer) error {
	for _, a := range batch {
		if a.fault != 0 || a.hdr == nil {
			continue
		}
		if err := dispersal.VerifyBatchHeader(r.root, a.hdr); err != nil {
			a.fault, a.err = Invalid, fmt.Errorf("sent a batch header that does not match batch root %s: %w", r.root, err)
			continue
		}
		if r.b != nil {
			continue
		}
		if n := a.hdr.DispersedRows(); n != r.rep.DispersedRows {
			// The root commits to every blob's R, and the certificate's
			// blobs hash to it: this cannot happen with a valid certificate.
			return fmt.Errorf("sampler: batch %s has N = %d dispersed rows by its header, but its certificate says %d", r.root, n, r.rep.DispersedRows)
		}
		b, err := r.s.accept(r.root, a.hdr, a.src != DisperserSource)
		if err != nil {
			// The header is the certified one (it matches the root): every
			// holder would send the same, so no sender is at fault.
			return fmt.Errorf("sampler: row commitments of batch %s: %w", r.root, err)
		}
		r.b = b
	}
	var good []*answer
	for _, a := range batch {
		if a.fault == 0 {
			good = append(good, a)
		}
	}
	if len(good) == 0 {
		return nil
	}
	if r.b == nil {
		// Answers came without a usable header; the headers' senders are
		// already faulted, so this can only follow a header-less round.
		for _, a := range good {
			a.fault, a.err = Malformed, errors.New("no valid batch header to check the cell against")
		}
		return nil
	}
	start := time.Now()
	if err := r.verify(good); err != nil {
		if !kzg.IsVerifyFailure(err) {
			return fmt.Errorf("sampler: verifying cells of batch %s: %w", r.root, err)
		}
		for _, a := range good {
			if err := r.verify([]*answer{a}); err != nil {
				a.fault, a.err = Invalid, fmt.Errorf("cell (%d, %d) does not verify against its row commitment: %w",
					r.rep.Samples[a.p.idx].Row, r.rep.Samples[a.p.idx].Cell, err)
			}
		}
	}
	r.s.met.verify.Observe(time.Since(start).Seconds())
	return nil
}

func (r *run) verify(as []*answer) error {
	comms := make([]kzg.Commitment, len(as))
	idx := make([]uint64, len(as))
	cells := make([][]fr.Element, len(as))
	proofs := make([]kzg.Proof, len(as))
	for i, a := range as {
		s := r.rep.Samples[a.p.idx]
		comms[i], idx[i], cells[i], proofs[i] = r.b.comms[s.Row], uint64(s.Cell), a.elems, a.proof
	}
	return r.s.kzg.VerifyCells(comms, idx, cells, proofs)
}

// settle records the batch: verified samples leave the to-do list, faults
// are charged to their sources, transient ones earn a retry at the end of
// the sample's queue. A DA node's answer decides the sample's Outcome; the
// disperser's only its Disperser field.
func (r *run) settle(batch []*answer) {
	for _, a := range batch {
		n := r.node(a.src)
		n.Asked++
		s := &r.rep.Samples[a.p.idx]
		out := r.outcome(a.p)
		if a.fault == 0 {
			n.Served++
			*out = OK
			if !a.p.disp {
				src := a.src
				s.From = &src
			}
			continue
		}
		if n.Faults == nil {
			n.Faults = make(map[string]int)
		}
		// The report keeps the first error, or the first lie if any: that
		// is the evidence worth reading.
		if n.Error == "" || (a.fault.lie() && !n.Lied()) {
			n.Error = a.err.Error()
		}
		n.Faults[a.fault.String()]++
		if !a.p.disp {
			s.Tries = append(s.Tries, Try{Source: a.src, Fault: a.fault, Error: a.err.Error()})
		}
		if a.fault.lie() {
			*out = Failed
		}
		if a.fault.transient() && a.p.retried[a.src] < r.s.cfg.Retries {
			if a.p.retried == nil {
				a.p.retried = make(map[int]int)
			}
			a.p.retried[a.src]++
			a.p.queue = append(a.p.queue, a.src)
		}
		r.s.log.Debug("sample request failed", "batch", r.root, "row", s.Row, "cell", s.Cell,
			"source", n.Name, "fault", a.fault.String(), "err", a.err)
	}
	left := r.todo[:0]
	for _, p := range r.todo {
		if *r.outcome(p) != OK {
			left = append(left, p)
		}
	}
	r.todo = left
}

// node is the report entry of a source.
func (r *run) node(src int) *NodeReport {
	if src == DisperserSource {
		if r.disp == nil {
			r.disp = &NodeReport{Signer: src, Name: "disperser " + r.s.url}
		}
		return r.disp
	}
	if n, ok := r.nodes[src]; ok {
		return n
	}
	n := &NodeReport{Signer: src}
	switch {
	case src < len(r.reg):
		n.Addrs = r.reg[src].Addrs
		n.Name = fmt.Sprintf("signer %d", src)
		if id := peerOf(r.reg[src].Addrs); id != "" {
			n.Name += " (" + id + ")"
		}
	default:
		n.Name = fmt.Sprintf("signer %d (unregistered)", src)
	}
	r.nodes[src] = n
	return n
}

// peerOf is the peer id in a signer's registered addresses.
func peerOf(addrs []string) string {
	for _, a := range addrs {
		if pi, err := peer.AddrInfoFromString(a); err == nil {
			return pi.ID.String()
		}
	}
	return ""
}

// faultOf maps a DA node request's error to a Fault. A stream that broke
// without a malformed answer counts as unreachable, not as a lie.
func faultOf(err error) Fault {
	switch dispersal.OutcomeOf(err) {
	case dispersal.Refused:
		return Withheld
	case dispersal.Busy:
		return Busy
	case dispersal.TimedOut, dispersal.Cancelled:
		return TimedOut
	}
	if errors.Is(err, dispersal.ErrMalformedAnswer) {
		return Malformed
	}
	return Unreachable
}

// errBadHeader: the disperser served a batch header that does not check
// against the root.
var errBadHeader = errors.New("bad batch header")

// httpFault maps a disperser error to a Fault.
func httpFault(err error) Fault {
	var ce *client.Error
	switch {
	case errors.Is(err, client.ErrBadAnswer), errors.Is(err, errBadHeader):
		return Malformed
	case errors.As(err, &ce) && (ce.StatusCode == 429 || ce.StatusCode == 503):
		return Busy
	case errors.As(err, &ce) && ce.StatusCode >= 400 && ce.StatusCode < 500:
		return Withheld
	case errors.As(err, &ce):
		return Unreachable
	case errors.Is(err, context.DeadlineExceeded):
		return TimedOut
	}
	return Unreachable
}
