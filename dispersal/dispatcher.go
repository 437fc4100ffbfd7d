package dispersal

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"

	"github.com/zgda/zgda/chain"
	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/internal/par"
	"github.com/zgda/zgda/kzg"
	"github.com/zgda/zgda/signer"
)

// Dispatcher disperses batches to DA nodes and fetches rows and cells back.
// It is safe for concurrent use.
type Dispatcher struct {
	cfg      Config
	client   chain.Client
	host     host.Host
	ownsHost bool
	id       crypto.PrivKey // the host's identity (WithIdentity)
	log      *slog.Logger
	kzg      *kzg.Context
	rr       atomic.Uint32 // round-robin quorum choice

	mu      sync.Mutex
	params  *chain.Params                      // genesis parameters, read once
	keys    map[da.PublicKey]*signer.PublicKey // parsed registered keys
	batches map[da.Hash]*batchMeta             // verified batch headers
	locs    map[da.BlobKey]*Location           // certified blobs' places
	roots   map[da.Hash]*Location              // certified batches' places
	signers []chain.SignerInfo                 // registry snapshot for fetches
	signAt  time.Time
}

// Option adjusts New.
type Option func(*Dispatcher)

// WithHost uses h to dial DA nodes instead of a fresh dial-only host; the
// Dispatcher does not close it.
func WithHost(h host.Host) Option { return func(d *Dispatcher) { d.host = h } }

// WithIdentity dials DA nodes as id, the disperser's registered libp2p
// identity (docs/spec.md §5 Dispersers), instead of a fresh one that can
// only read. Ignored with WithHost.
func WithIdentity(id crypto.PrivKey) Option { return func(d *Dispatcher) { d.id = id } }

// WithLogger sends the Dispatcher's logs to l (default: discard).
func WithLogger(l *slog.Logger) Option { return func(d *Dispatcher) { d.log = l } }

// WithKZG uses c instead of kzg.Default() for verifying fetched data.
func WithKZG(c *kzg.Context) Option { return func(d *Dispatcher) { d.kzg = c } }

// New returns a Dispatcher that reads quorums and keys through client.
func New(client chain.Client, cfg Config, opts ...Option) (*Dispatcher, error) {
	if err := cfg.ValidateBasic(); err != nil {
		return nil, err
	}
	d := &Dispatcher{
		cfg:     cfg,
		client:  client,
		keys:    make(map[da.PublicKey]*signer.PublicKey),
		batches: make(map[da.Hash]*batchMeta),
		locs:    make(map[da.BlobKey]*Location),
		roots:   make(map[da.Hash]*Location),
	}
	for _, o := range opts {
		o(d)
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	if d.kzg == nil {
		d.kzg = kzg.Default()
	}
	if d.host == nil {
		h, err := NewHost(d.id)
		if err != nil {
			return nil, fmt.Errorf("dispersal: libp2p host: %w", err)
		}
		d.host, d.ownsHost = h, true
	}
	return d, nil
}

// Close closes the Dispatcher's own host.
func (d *Dispatcher) Close() error {
	if d.ownsHost {
		return d.host.Close()
	}
	return nil
}

// Host is the libp2p host the Dispatcher dials with.
func (d *Dispatcher) Host() host.Host { return d.host }

// chainParams are the chain's parameters (fixed at genesis), read once.
func (d *Dispatcher) chainParams(ctx context.Context) (chain.Params, error) {
	d.mu.Lock()
	p := d.params
	d.mu.Unlock()
	if p != nil {
		return *p, nil
	}
	st, err := d.client.Status(ctx)
	if err != nil {
		return chain.Params{}, fmt.Errorf("dispersal: chain status: %w", err)
	}
	d.mu.Lock()
	d.params = &st.Params
	d.mu.Unlock()
	return st.Params, nil
}

// nodeJob is one signer's request in a dispersal.
type nodeJob struct {
	info     chain.SignerInfo
	req      *da.DisperseRequest
	rowBytes int64 // of the request's rows
	res      NodeResult
	sig      *signer.Signature
}

// sentCounters add up what the attempts that completed their write sent.
type sentCounters struct{ all, rows, headers atomic.Int64 }

// Disperse sends a batch to the current epoch's next quorum (round robin)
// and returns its certificate once the signed weight of the batch's window
// reaches the chain's threshold (docs/spec.md §4.4). Each signer holding a
// window slot gets one request with the batch header and each dispersed row
// of its slots once (docs/spec.md §4.2, §5); the rows are serialized once and
// the requests share the bytes. The Report says what each node did, with or
// without a certificate; on failure the error is a *ShortError. Disperse
// reads b.Header, b.Root, b.D, b.K, b.N, b.Rows and b.Commitments and
// modifies nothing; input that is inconsistent or too large for a quorum
// fails with ErrBadInput before anything is sent.
func (d *Dispatcher) Disperse(ctx context.Context, b *encoder.Batch) (*da.Certificate, *Report, error) {
	start := time.Now()
	if err := checkBatch(b); err != nil {
		return nil, nil, err
	}
	params, err := d.chainParams(ctx)
	if err != nil {
		return nil, nil, err
	}
	ep, err := d.client.CurrentEpoch(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("dispersal: current epoch: %w", err)
	}
	if !ep.Started || len(ep.Quorums) == 0 {
		return nil, nil, fmt.Errorf("%w: epoch %d has no quorums (no VRF outputs with ballots were submitted for it)", ErrNoQuorum, ep.Epoch)
	}
	qi := (d.rr.Add(1) - 1) % uint32(len(ep.Quorums))
	q := ep.Quorums[qi]
	if b.N > len(q) {
		return nil, nil, fmt.Errorf("%w: the batch has %d dispersed rows, more than the %d slots of a quorum", ErrBadInput, b.N, len(q))
	}
	w, err := da.NewWindow(b.Root, b.N, int(params.MinBatchSlots), len(q))
	if err != nil {
		return nil, nil, fmt.Errorf("dispersal: the window of batch %s: %w", b.Root, err)
	}
	reg, err := d.client.Signers(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("dispersal: signer registry: %w", err)
	}
	hdr, err := b.Header.MarshalBinary()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: batch header: %v", ErrBadInput, err)
	}
	rep := &Report{ChainID: d.client.ChainID(), Epoch: ep.Epoch, Quorum: qi, BatchRoot: b.Root, Blobs: b.Header.Entries()}

	// Route: each signer gets every dispersed row of its window slots, once.
	type share struct {
		slots int
		rows  []bool
	}
	plan := make(map[uint32]*share)
	for _, a := range q.Assignments(w) {
		s := plan[a.Signer]
		if s == nil {
			s = &share{rows: make([]bool, w.N)}
			plan[a.Signer] = s
		}
		s.slots++
		s.rows[a.Row] = true
	}
	rowData := serializeRows(b.Rows)
	jobs := make([]*nodeJob, 0, len(plan))
	for sg, s := range plan {
		j := &nodeJob{res: NodeResult{Signer: sg, Slots: s.slots}}
		jobs = append(jobs, j)
		if int(sg) >= len(reg) || reg[sg].Index != sg {
			j.res.Outcome, j.res.Err = Failed, fmt.Errorf("signer %d is not in the registry", sg)
			continue
		}
		j.info = reg[sg]
		j.res.PubKey, j.res.Addrs = j.info.PubKey, j.info.Addrs
		j.req = &da.DisperseRequest{ChainID: rep.ChainID, Epoch: ep.Epoch, Quorum: qi, Batch: b.Header}
		for n, held := range s.rows {
			if held {
				j.req.Slices = append(j.req.Slices, da.Slice{Row: uint32(n), Data: rowData[n]})
			}
		}
		j.rowBytes = int64(len(j.req.Slices)) * da.RowSize
		j.res.Rows, j.res.Bytes = len(j.req.Slices), j.req.EncodedSize()
		if j.res.Bytes > da.MaxDisperseRequestSize { // cannot happen with each row once; kept as a guard
			return nil, nil, fmt.Errorf("%w: signer %d's share of the batch is %d bytes (%d rows), over the %d-byte limit of one request",
				ErrBadInput, sg, j.res.Bytes, len(j.req.Slices), da.MaxDisperseRequestSize)
		}
	}
	slices.SortFunc(jobs, func(a, b *nodeJob) int { return cmp.Compare(a.res.Signer, b.res.Signer) })
	msg := da.AttestationMessage(rep.ChainID, ep.Epoch, qi, b.Root)
	th := params.Threshold
	met := func(signed map[uint32]*signer.Signature) bool {
		got, total := q.SignedWeight(w, func(sg uint32) bool { return signed[sg] != nil })
		return da.MeetsThreshold(got, total, th.Num, th.Den)
	}

	var sent sentCounters
	signed := d.run(ctx, jobs, msg, int64(len(hdr)), met, &sent)
	rep.BytesSent, rep.RowBytesSent, rep.HeaderBytesSent = sent.all.Load(), sent.rows.Load(), sent.headers.Load()

	// Results, whatever happened.
	isSigned := func(sg uint32) bool { return signed[sg] != nil }
	got, total := q.SignedWeight(w, isSigned)
	rep.Window = WindowResult{Window: w, Weight: got, Total: total, Need: need(total, th.Num, th.Den),
		OK: da.MeetsThreshold(got, total, th.Num, th.Den)}
	for i := 0; i < w.S; i++ {
		if isSigned(q[w.Slot(i)]) {
			rep.Window.SignedSlots++
		}
	}
	for _, j := range jobs {
		rep.Nodes = append(rep.Nodes, j.res)
	}
	rep.Duration = time.Since(start)
	if !rep.Window.OK {
		e := &ShortError{Root: b.Root, Window: rep.Window, Failed: rep.Failed()}
		if ctx.Err() != nil {
			return nil, rep, fmt.Errorf("%w (%v)", e, ctx.Err())
		}
		return nil, rep, e
	}
	cert, err := d.certificate(ep.Epoch, qi, b.Root, rep.Blobs, jobs, signed, msg)
	if err != nil {
		return nil, rep, err
	}
	d.log.Info("batch certified", "epoch", ep.Epoch, "quorum", qi, "root", b.Root, "blobs", len(rep.Blobs),
		"dispersed_rows", b.N, "window_slots", w.S, "signers", cert.Signers.Count(), "failed", len(rep.Failed()), "took", rep.Duration)
	return cert, rep, nil
}

// run sends the jobs concurrently and collects valid signatures until all
// answered, or the threshold is met and Config.Linger passed, or ctx ended.
// Jobs not awaited are cancelled.
func (d *Dispatcher) run(ctx context.Context, jobs []*nodeJob, msg []byte, hdrBytes int64, met func(map[uint32]*signer.Signature) bool, sent *sentCounters) map[uint32]*signer.Signature {
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	conc := d.cfg.Concurrency
	if conc <= 0 || conc > len(jobs) {
		conc = max(len(jobs), 1)
	}
	sem := make(chan struct{}, conc)
	done := make(chan *nodeJob, len(jobs))
	var wg sync.WaitGroup
	pending := 0
	for _, j := range jobs {
		if j.req == nil { // already failed while planning
			continue
		}
		pending++
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
				d.send(runCtx, j, msg, hdrBytes, sent)
			case <-runCtx.Done():
				j.res.Outcome, j.res.Err = Cancelled, runCtx.Err()
			}
			done <- j
		}()
	}
	signed := make(map[uint32]*signer.Signature)
	var linger <-chan time.Time
collect:
	for pending > 0 {
		select {
		case j := <-done:
			pending--
			if j.sig != nil {
				signed[j.res.Signer] = j.sig
				if linger == nil && met(signed) {
					if d.cfg.Linger == 0 {
						break collect
					}
					linger = time.After(d.cfg.Linger)
				}
			}
		case <-linger:
			break collect
		case <-ctx.Done():
			break collect
		}
	}
	cancel()
	wg.Wait()
	for ; pending > 0; pending-- { // late answers: count valid signatures that made it
		if j := <-done; j.sig != nil {
			signed[j.res.Signer] = j.sig
		}
	}
	return signed
}

// send runs one node's attempts: retries with backoff after transient
// failures, none after a refusal or a bad signature.
func (d *Dispatcher) send(ctx context.Context, j *nodeJob, msg []byte, hdrBytes int64, sent *sentCounters) {
	pk, err := d.pubKey(j.info.PubKey)
	if err != nil {
		j.res.Outcome, j.res.Err = Failed, fmt.Errorf("registered key: %w", err)
		return
	}
	pi, err := addrInfo(j.info.Addrs)
	if err != nil {
		j.res.Outcome, j.res.Err = Failed, err
		return
	}
	backoff := d.cfg.Backoff
	for {
		j.res.Attempts++
		t0 := time.Now()
		actx, cancel := context.WithTimeout(ctx, d.cfg.RequestTimeout)
		ans, wrote, err := roundTrip(actx, d.host, pi, da.ProtocolDisperse, j.req, d.cfg.DialTimeout, da.MaxAnswerSize)
		cancel()
		j.res.Latency = time.Since(t0)
		if wrote {
			sent.all.Add(int64(j.res.Bytes))
			sent.rows.Add(j.rowBytes)
			sent.headers.Add(hdrBytes)
		}
		retryAfter := time.Duration(0)
		if err == nil {
			resp, ok := ans.(*da.DisperseResponse)
			switch {
			case !ok:
				j.res.Outcome, j.res.Err = Failed, fmt.Errorf("answered a dispersal with a %s", ans.Type())
				return
			case !resp.OK:
				err = resp.Err()
			default:
				sig, perr := signer.ParseSignature(resp.Signature[:])
				if perr != nil || !pk.Verify(msg, sig) {
					if perr == nil {
						perr = errors.New("it does not verify against the signer's registered key over the batch's attestation")
					}
					j.res.Outcome, j.res.Err = BadSignature, perr
					d.log.Warn("bad signature from a DA node; excluded", "signer", j.res.Signer, "err", perr)
					return
				}
				j.res.Outcome, j.res.Err, j.sig = Signed, nil, sig
				return
			}
		}
		// A failure: classify it and decide whether to retry.
		var te *transportError
		var be *busyError
		transient := true
		switch {
		case errors.As(err, &be):
			j.res.Outcome, retryAfter = Busy, be.after
		case refusal(err) != nil:
			r := refusal(err)
			j.res.Outcome, j.res.Refusal = Refused, r
			transient = r.Code == da.CodeBusy || r.Code == da.CodeInternal
		case errors.As(err, &te):
			j.res.Outcome = te.outcome
			transient = !te.fatal
		default:
			j.res.Outcome = Failed
		}
		j.res.Err = err
		if !transient || j.res.Attempts > d.cfg.Retries || ctx.Err() != nil {
			if ctx.Err() != nil && j.res.Outcome != Refused {
				j.res.Outcome = Cancelled
			}
			return
		}
		wait := max(backoff, retryAfter)
		backoff = min(2*backoff, d.cfg.MaxBackoff)
		select {
		case <-ctx.Done():
			j.res.Outcome = Cancelled
			return
		case <-time.After(wait):
		}
	}
}

// certificate aggregates the valid signatures and checks the result the way
// the chain will (shape, root, aggregate signature).
func (d *Dispatcher) certificate(epoch uint64, qi uint32, root da.Hash, blobs []da.CertifiedBlob, jobs []*nodeJob, signed map[uint32]*signer.Signature, msg []byte) (*da.Certificate, error) {
	cert := &da.Certificate{BatchRoot: root, Epoch: epoch, Quorum: qi, Blobs: blobs}
	var sigs []*signer.Signature
	var pks []*signer.PublicKey
	for _, j := range jobs { // ascending signer index
		if s := signed[j.res.Signer]; s != nil {
			pk, err := d.pubKey(j.info.PubKey)
			if err != nil {
				return nil, err
			}
			sigs = append(sigs, s)
			pks = append(pks, pk)
			cert.Signers = cert.Signers.Set(j.res.Signer)
		}
	}
	agg, err := signer.AggregateSignatures(sigs)
	if err != nil {
		return nil, fmt.Errorf("dispersal: aggregating: %w", err)
	}
	cert.Signature = agg.Bytes()
	if err := cert.Validate(); err != nil {
		return nil, fmt.Errorf("dispersal: built a bad certificate: %w", err)
	}
	if !signer.FastAggregateVerify(pks, msg, agg) {
		return nil, errors.New("dispersal: the aggregate signature does not verify (a broken invariant: every part did)")
	}
	return cert, nil
}

func (d *Dispatcher) pubKey(b da.PublicKey) (*signer.PublicKey, error) {
	d.mu.Lock()
	pk, ok := d.keys[b]
	d.mu.Unlock()
	if ok {
		return pk, nil
	}
	pk, err := signer.ParsePublicKey(b[:])
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	if len(d.keys) > 1<<16 {
		clear(d.keys)
	}
	d.keys[b] = pk
	d.mu.Unlock()
	return pk, nil
}

// checkBatch refuses a batch whose parts disagree: the header must be
// canonical and hash to its keys (docs/spec.md §3.2, §3.3), D, K, N and the
// root must be the header's, and there must be N rows of 4096 elements and N
// commitments, the first D of them the header's data commitments in matrix
// order.
func checkBatch(b *encoder.Batch) error {
	if b == nil {
		return fmt.Errorf("%w: no batch", ErrBadInput)
	}
	if err := b.Header.Check(); err != nil {
		return fmt.Errorf("%w: batch header: %v", ErrBadInput, err)
	}
	dd := b.Header.DataRows()
	if b.D != dd || b.K != da.MatrixRows(dd) || b.N != da.ExtensionFactor*dd {
		return fmt.Errorf("%w: D = %d, K = %d, N = %d for a header of %d data rows (want D = %d, K = %d, N = %d)",
			ErrBadInput, b.D, b.K, b.N, dd, dd, da.MatrixRows(dd), da.ExtensionFactor*dd)
	}
	if root := b.Header.Root(); b.Root != root {
		return fmt.Errorf("%w: batch root %s is not its header's root %s", ErrBadInput, b.Root, root)
	}
	if len(b.Rows) != b.N || len(b.Commitments) != b.N {
		return fmt.Errorf("%w: %d rows and %d commitments for a batch of %d dispersed rows", ErrBadInput, len(b.Rows), len(b.Commitments), b.N)
	}
	for n, r := range b.Rows {
		if len(r) != kzg.ScalarsPerRow {
			return fmt.Errorf("%w: dispersed row %d has %d elements, want %d", ErrBadInput, n, len(r), kzg.ScalarsPerRow)
		}
	}
	for i, c := range b.Header.Commitments() {
		if kzg.Commitment(c) != b.Commitments[i] {
			return fmt.Errorf("%w: data row %d's commitment %s is not the header's %s", ErrBadInput, i, b.Commitments[i], c)
		}
	}
	return nil
}

// serializeRows encodes every dispersed row once (32-byte big-endian
// elements, in parallel); the requests share these buffers.
func serializeRows(rows [][]fr.Element) [][]byte {
	out := make([][]byte, len(rows))
	par.Range(len(rows), 0, 4, func(lo, hi int) {
		for n := lo; n < hi; n++ {
			out[n] = rowBytes(rows[n])
		}
	})
	return out
}

func rowBytes(row []fr.Element) []byte {
	b := make([]byte, da.RowSize)
	for i := range row {
		fr.BigEndian.PutElement((*[32]byte)(b[i*32:(i+1)*32]), row[i])
	}
	return b
}
