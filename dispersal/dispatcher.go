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
	"github.com/libp2p/go-libp2p/core/host"

	"github.com/zgda/zgda/chain"
	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/encoder"
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
	log      *slog.Logger
	kzg      *kzg.Context
	rr       atomic.Uint32 // round-robin quorum choice

	mu      sync.Mutex
	keys    map[da.PublicKey]*signer.PublicKey // parsed registered keys
	headers map[da.BlobKey]*blobMeta           // verified headers
	locs    map[da.BlobKey]*Location           // certified blobs' places
	signers []chain.SignerInfo                 // registry snapshot for fetches
	signAt  time.Time
}

// Option adjusts New.
type Option func(*Dispatcher)

// WithHost uses h to dial DA nodes instead of a fresh dial-only host; the
// Dispatcher does not close it.
func WithHost(h host.Host) Option { return func(d *Dispatcher) { d.host = h } }

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
		headers: make(map[da.BlobKey]*blobMeta),
		locs:    make(map[da.BlobKey]*Location),
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
		h, err := NewHost()
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

// nodeJob is one signer's request in a dispersal.
type nodeJob struct {
	info chain.SignerInfo
	req  *da.DisperseRequest
	res  NodeResult
	sig  *signer.Signature
}

// Disperse sends every blob's rows to the current epoch's quorum and returns
// the certificate once every blob has the threshold of its slots signed.
// The Report says what each node did, with or without a certificate; on
// failure the error is a *ShortError naming the short blobs and the failed
// nodes. blobs are only read; the certificate lists them in this order.
func (d *Dispatcher) Disperse(ctx context.Context, blobs []*encoder.Encoded) (*da.Certificate, *Report, error) {
	start := time.Now()
	if err := checkBlobs(blobs); err != nil {
		return nil, nil, err
	}
	st, err := d.client.Status(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("dispersal: chain status: %w", err)
	}
	params := st.Params
	ep, err := d.client.CurrentEpoch(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("dispersal: current epoch: %w", err)
	}
	if !ep.Started || len(ep.Quorums) == 0 {
		return nil, nil, fmt.Errorf("%w: epoch %d has no quorums (no VRF outputs with ballots were submitted for it)", ErrNoQuorum, ep.Epoch)
	}
	qi := uint32((d.rr.Add(1) - 1) % uint32(len(ep.Quorums)))
	q := ep.Quorums[qi]
	for i, b := range blobs {
		if uint32(b.Params.K) > params.MaxBlobRows() {
			return nil, nil, fmt.Errorf("%w: blob %d (%s) has K = %d, more than quorums of %d slots take (%d)",
				ErrBadInput, i, b.Key, b.Params.K, params.QuorumSize, params.MaxBlobRows())
		}
	}
	reg, err := d.client.Signers(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("dispersal: signer registry: %w", err)
	}

	headers := make([]da.BlobHeader, len(blobs))
	for i, b := range blobs {
		headers[i] = da.BlobHeader{Key: b.Key, Length: uint64(b.Params.Length), Rows: uint32(b.Params.K)}
		for _, c := range b.DataCommitments() {
			headers[i].Commitments = append(headers[i].Commitments, da.Commitment(c))
		}
	}
	rep := &Report{ChainID: d.client.ChainID(), Epoch: ep.Epoch, Quorum: qi}
	keys := make([]da.BlobKey, len(blobs))
	for i, b := range blobs {
		keys[i] = b.Key
	}
	if rep.BatchRoot, err = da.BatchRoot(keys); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrBadInput, err)
	}

	// Route: every distinct row of each signer's slots, once.
	plan := make(map[uint32]map[da.SliceRef]bool)
	for b, blob := range blobs {
		for _, a := range q.BlobAssignments(blob.Key, uint32(blob.Params.K)) {
			if plan[a.Signer] == nil {
				plan[a.Signer] = make(map[da.SliceRef]bool)
			}
			plan[a.Signer][da.SliceRef{Blob: uint16(b), Row: a.Row}] = true
		}
	}
	rowBytes := serializeRows(blobs, plan)
	jobs := make([]*nodeJob, 0, len(plan))
	for sg, refs := range plan {
		j := &nodeJob{res: NodeResult{Signer: sg}}
		jobs = append(jobs, j)
		if int(sg) >= len(reg) || reg[sg].Index != sg {
			j.res.Outcome, j.res.Err = Failed, fmt.Errorf("signer %d is not in the registry", sg)
			continue
		}
		j.info = reg[sg]
		j.res.PubKey, j.res.Addrs = j.info.PubKey, j.info.Addrs
		sorted := make([]da.SliceRef, 0, len(refs))
		for r := range refs {
			sorted = append(sorted, r)
		}
		slices.SortFunc(sorted, func(a, b da.SliceRef) int {
			return cmp.Or(cmp.Compare(a.Blob, b.Blob), cmp.Compare(a.Row, b.Row))
		})
		j.req = &da.DisperseRequest{ChainID: rep.ChainID, Epoch: ep.Epoch, Quorum: qi, Headers: headers,
			Slices: make([]da.Slice, len(sorted))}
		for k, r := range sorted {
			j.req.Slices[k] = da.Slice{SliceRef: r, Data: rowBytes[r]}
		}
		j.res.Rows, j.res.Bytes = len(sorted), j.req.EncodedSize()
		if j.res.Bytes > da.MaxDisperseRequestSize {
			return nil, nil, fmt.Errorf("%w: signer %d's share of the batch is %d bytes (%d rows), over the %d-byte limit of one request: disperse fewer or smaller blobs per batch",
				ErrBadInput, sg, j.res.Bytes, len(sorted), da.MaxDisperseRequestSize)
		}
	}
	slices.SortFunc(jobs, func(a, b *nodeJob) int { return cmp.Compare(a.res.Signer, b.res.Signer) })
	msg := da.AttestationMessage(rep.ChainID, ep.Epoch, qi, rep.BatchRoot)

	signed := d.run(ctx, jobs, msg, func(signed map[uint32]*signer.Signature) bool {
		return blobsMet(q, blobs, params, signed)
	}, rep)

	// Results, whatever happened.
	met := true
	for i, b := range blobs {
		n, s := q.SignedBlobSlots(b.Key, uint32(b.Params.K), func(sg uint32) bool { return signed[sg] != nil })
		ok := da.MeetsThreshold(n, s, params.Threshold.Num, params.Threshold.Den)
		met = met && ok
		rep.Blobs = append(rep.Blobs, BlobResult{Index: i, Key: b.Key, Rows: uint32(b.Params.K), Slots: s, Signed: n,
			Need: need(s, params.Threshold.Num, params.Threshold.Den), OK: ok})
	}
	for _, j := range jobs {
		rep.Nodes = append(rep.Nodes, j.res)
	}
	rep.Duration = time.Since(start)
	if !met {
		e := &ShortError{Failed: rep.Failed()}
		for _, b := range rep.Blobs {
			if !b.OK {
				e.Short = append(e.Short, b)
			}
		}
		if ctx.Err() != nil {
			return nil, rep, fmt.Errorf("%w (%v)", e, ctx.Err())
		}
		return nil, rep, e
	}
	cert, err := d.certificate(ep.Epoch, qi, rep.BatchRoot, blobs, jobs, signed, msg)
	if err != nil {
		return nil, rep, err
	}
	d.log.Info("batch certified", "epoch", ep.Epoch, "quorum", qi, "root", rep.BatchRoot, "blobs", len(blobs),
		"signers", cert.Signers.Count(), "failed", len(rep.Failed()), "took", rep.Duration)
	return cert, rep, nil
}

// run sends the jobs concurrently and collects valid signatures until all
// answered, or every blob met the threshold and Config.Linger passed, or ctx
// ended. Jobs not awaited are cancelled.
func (d *Dispatcher) run(ctx context.Context, jobs []*nodeJob, msg []byte, met func(map[uint32]*signer.Signature) bool, rep *Report) map[uint32]*signer.Signature {
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	conc := d.cfg.Concurrency
	if conc <= 0 || conc > len(jobs) {
		conc = max(len(jobs), 1)
	}
	sem := make(chan struct{}, conc)
	done := make(chan *nodeJob, len(jobs))
	var wg sync.WaitGroup
	var sent atomic.Int64
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
				d.send(runCtx, j, msg, &sent)
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
	rep.BytesSent = sent.Load()
	return signed
}

// send runs one node's attempts: retries with backoff after transient
// failures, none after a refusal or a bad signature.
func (d *Dispatcher) send(ctx context.Context, j *nodeJob, msg []byte, sent *atomic.Int64) {
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
			sent.Add(int64(j.res.Bytes))
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
// the chain will.
func (d *Dispatcher) certificate(epoch uint64, qi uint32, root da.Hash, blobs []*encoder.Encoded, jobs []*nodeJob, signed map[uint32]*signer.Signature, msg []byte) (*da.Certificate, error) {
	cert := &da.Certificate{BatchRoot: root, Epoch: epoch, Quorum: qi}
	for _, b := range blobs {
		cert.Blobs = append(cert.Blobs, da.CertifiedBlob{Key: b.Key, Rows: uint32(b.Params.K)})
	}
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

func blobsMet(q da.Quorum, blobs []*encoder.Encoded, p chain.Params, signed map[uint32]*signer.Signature) bool {
	for _, b := range blobs {
		n, s := q.SignedBlobSlots(b.Key, uint32(b.Params.K), func(sg uint32) bool { return signed[sg] != nil })
		if !da.MeetsThreshold(n, s, p.Threshold.Num, p.Threshold.Den) {
			return false
		}
	}
	return true
}

func checkBlobs(blobs []*encoder.Encoded) error {
	if len(blobs) == 0 || len(blobs) > da.MaxCertificateBlobs {
		return fmt.Errorf("%w: %d blobs, want 1 to %d", ErrBadInput, len(blobs), da.MaxCertificateBlobs)
	}
	seen := make(map[da.BlobKey]int, len(blobs))
	for i, b := range blobs {
		if b == nil {
			return fmt.Errorf("%w: blob %d is nil", ErrBadInput, i)
		}
		ext := b.Params.ExtendedRows()
		if b.Params.K < 1 || len(b.Rows) != ext || len(b.Commitments) != ext {
			return fmt.Errorf("%w: blob %d (%s): K = %d with %d rows and %d commitments, want %d of each",
				ErrBadInput, i, b.Key, b.Params.K, len(b.Rows), len(b.Commitments), ext)
		}
		if j, dup := seen[b.Key]; dup {
			return fmt.Errorf("%w: blob %s appears twice (positions %d and %d)", ErrBadInput, b.Key, j, i)
		}
		seen[b.Key] = i
	}
	return nil
}

// serializeRows encodes each row any signer needs once (32-byte big-endian
// elements); requests share these buffers.
func serializeRows(blobs []*encoder.Encoded, plan map[uint32]map[da.SliceRef]bool) map[da.SliceRef][]byte {
	out := make(map[da.SliceRef][]byte)
	for _, refs := range plan {
		for r := range refs {
			if _, ok := out[r]; !ok {
				out[r] = rowBytes(blobs[r.Blob].Rows[r.Row])
			}
		}
	}
	return out
}

func rowBytes(row []fr.Element) []byte {
	b := make([]byte, da.RowSize)
	for i := range row {
		fr.BigEndian.PutElement((*[32]byte)(b[i*32:(i+1)*32]), row[i])
	}
	return b
}
