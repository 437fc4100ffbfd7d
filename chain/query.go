package chain

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	abci "github.com/cometbft/cometbft/abci/types"
	crypto "github.com/cometbft/cometbft/api/cometbft/crypto/v1"

	"github.com/zgda/zgda/da"
)

// ABCI query paths. Responses are JSON; errors carry a Code… and a message.
const (
	QueryStatus      = "/status"      // → AppStatus
	QueryParams      = "/params"      // → Params
	QuerySigners     = "/signers"     // → []SignerInfo
	QuerySigner      = "/signer"      // data: public key [48] → SignerInfo
	QueryEpoch       = "/epoch"       // data: u64 epoch, or empty for the last block's → EpochInfo
	QueryCertificate = "/certificate" // data: batch root [32] → CertificateRecord
	QueryBlob        = "/blob"        // data: blob key [32] → CertificateRecord of the key's batch
	QueryBlobBatch   = "/blob_batch"  // data: blob key [32] → BlobLocation
	QueryDisperser   = "/disperser"   // data: ed25519 key [32] → DisperserInfo
	QueryDispersers  = "/dispersers"  // → []DisperserInfo
	// QueryChallenges: data u64 epoch ‖ u32 signer → []Challenge (proven).
	QueryChallenges = "/pora/challenges"
	// QueryScores: data u64 epoch → []Score of every signer challenged.
	QueryScores = "/pora/scores"
)

// queryMarshalHook, when set (by tests), runs before Query marshals its answer.
var queryMarshalHook func()

// ProofOpType is the type of the proof operations a proven query returns:
// one ICS-23 commitment proof (IAVL spec) per state key the answer was read
// from, against the app hash of the queried height (docs/spec.md §6 State).
const ProofOpType = "ics23:iavl"

// Query implements abci.Application. It reads the state after req.Height
// (0: the last committed height; earlier heights while they are kept). With
// req.Prove, the answer carries an ICS-23 proof of every state key it was
// read from (ProofOpType; membership, or absence for a key it found
// missing), against the app hash of that height, which is the AppHash of
// the header of the next block. The answer is read under the app's lock
// into values the query alone owns, and marshalled after the lock is
// released: an epoch's quorums make megabytes of JSON, and blocks and
// CheckTx need not wait for them.
func (a *App) Query(_ context.Context, req *abci.QueryRequest) (*abci.QueryResponse, error) {
	a.mu.Lock()
	height := a.st.height
	if req.Height != 0 {
		height = req.Height
	}
	var val any
	var ops *crypto.ProofOps
	err := func() error {
		if !a.ready {
			return fmt.Errorf("%w: chain not initialized yet", ErrNotFound)
		}
		if req.Height < 0 || req.Height > a.st.height {
			return fmt.Errorf("%w: state at height %d (the last committed height is %d)", ErrNotFound, req.Height, a.st.height)
		}
		v := view{s: a.st}
		pb, proving := a.st.back.(*iavlBackend)
		if height != a.st.height {
			if !proving {
				return fmt.Errorf("%w: state at height %d (only the latest, %d, is kept)", ErrNotFound, height, a.st.height)
			}
			snap, err := pb.snapshot(height)
			if err != nil {
				return err
			}
			v.snap = snap
		}
		var reads [][]byte
		if req.Prove {
			if !proving {
				return fmt.Errorf("%w: this state store keeps no proofs", ErrNotFound)
			}
			v.reads, v.proving = &reads, true
		}
		var qerr error
		val, qerr = a.query(v, height, req.Path, req.Data)
		// A not-found answer is proven too: by the absence of its key.
		if !req.Prove || qerr != nil && !errors.Is(qerr, ErrNotFound) {
			return qerr
		}
		ops = &crypto.ProofOps{}
		seen := map[string]bool{}
		for _, k := range reads {
			if seen[string(k)] {
				continue
			}
			seen[string(k)] = true
			p, err := pb.prove(height, k)
			if err != nil {
				return err
			}
			raw, err := p.Marshal()
			if err != nil {
				return fmt.Errorf("%w: %v", ErrInternal, err)
			}
			ops.Ops = append(ops.Ops, crypto.ProofOp{Type: ProofOpType, Key: k, Data: raw})
		}
		return qerr
	}()
	a.mu.Unlock()
	if err != nil {
		return &abci.QueryResponse{Code: codeOf(err), Log: err.Error(), Codespace: Codespace, Height: height, ProofOps: ops}, nil
	}
	if queryMarshalHook != nil {
		queryMarshalHook()
	}
	b, err := json.Marshal(val)
	if err != nil {
		return &abci.QueryResponse{Code: CodeInternal, Log: err.Error(), Codespace: Codespace}, nil
	}
	return &abci.QueryResponse{Code: CodeOK, Value: b, Height: height, ProofOps: ops}, nil
}

// query answers path from the state v reads (after height); it runs under
// a.mu and returns values that share no memory with the app (fresh
// records, copies).
func (a *App) query(v view, height int64, path string, data []byte) (any, error) {
	r := stateReader{v}
	switch path {
	case QueryStatus:
		n, err := r.count()
		if err != nil {
			return nil, err
		}
		e := a.epochOf(max(height, a.base))
		return &AppStatus{
			ChainID:         a.chainID,
			Height:          height,
			AppHash:         hex.EncodeToString(a.appHashOf(v)),
			Epoch:           e,
			NextEpochHeight: a.epochStart(e + 1),
			Signers:         n,
			Params:          a.params,
		}, nil
	case QueryParams:
		// Read from the state (not the app's copy), so that a proven
		// answer proves them, with the initial height b₀ beside them.
		p, err := r.params()
		if err != nil {
			return nil, err
		}
		if _, err := r.u64(keyBase); err != nil {
			return nil, err
		}
		return p, nil
	case QuerySigners:
		// By count and index, so that a proven answer proves the whole
		// registry: n, then s/0 … s/n−1.
		n, err := r.count()
		if err != nil {
			return nil, err
		}
		out := make([]SignerInfo, 0, n)
		for i := range n {
			s, err := r.signer(i)
			if err != nil {
				return nil, err
			}
			out = append(out, *s)
		}
		return out, nil
	case QuerySigner:
		if len(data) != da.PublicKeySize {
			return nil, fmt.Errorf("%w: signer query wants a %d-byte public key, got %d bytes", ErrMalformedTx, da.PublicKeySize, len(data))
		}
		idx, ok, err := r.signerIndex(da.PublicKey(data))
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("%w: no signer with key %s", ErrNotFound, da.PublicKey(data))
		}
		return r.signer(idx)
	case QueryEpoch:
		e := a.epochOf(max(height, a.base))
		switch len(data) {
		case 0:
		case 8:
			e = binary.BigEndian.Uint64(data)
		default:
			return nil, fmt.Errorf("%w: epoch query wants 0 or 8 bytes, got %d", ErrMalformedTx, len(data))
		}
		return a.epochInfo(r, e)
	case QueryCertificate:
		if len(data) != 32 {
			return nil, fmt.Errorf("%w: %s query wants a 32-byte batch root, got %d bytes", ErrMalformedTx, path, len(data))
		}
		rec, err := r.cert(da.Hash(data))
		if err != nil {
			return nil, err
		}
		if rec == nil {
			return nil, fmt.Errorf("%w: no certificate for batch %s", ErrNotFound, da.Hash(data))
		}
		return rec, nil
	case QueryBlob, QueryBlobBatch:
		if len(data) != 32 {
			return nil, fmt.Errorf("%w: %s query wants a 32-byte blob key, got %d bytes", ErrMalformedTx, path, len(data))
		}
		loc, err := a.blobLocation(r, da.BlobKey(data), height)
		if err != nil || path == QueryBlobBatch {
			return loc, err
		}
		rec, err := r.cert(loc.BatchRoot)
		if err != nil {
			return nil, err
		}
		if rec == nil {
			return nil, fmt.Errorf("%w: blob %s names batch %s, which has no certificate", ErrInternal, da.BlobKey(data), loc.BatchRoot)
		}
		return rec, nil
	case QueryDisperser:
		if len(data) != DisperserKeySize {
			return nil, fmt.Errorf("%w: disperser query wants a %d-byte ed25519 key, got %d bytes", ErrMalformedTx, DisperserKeySize, len(data))
		}
		d, err := r.disperser(DisperserKey(data))
		if err == nil && d == nil {
			err = fmt.Errorf("%w: no disperser with key %s", ErrNotFound, DisperserKey(data))
		}
		return d, err
	case QueryChallenges:
		if len(data) != 12 {
			return nil, fmt.Errorf("%w: %s wants u64 epoch ‖ u32 signer, got %d bytes", ErrMalformedTx, path, len(data))
		}
		e, s := binary.BigEndian.Uint64(data), binary.BigEndian.Uint32(data[8:])
		// By index up to the parameter, so that a proven answer proves
		// each challenge and the absence of more.
		out := []Challenge{}
		for k := range a.params.PoRAChallenges {
			c, err := r.challenge(e, s, k)
			if err != nil {
				return nil, err
			}
			if c != nil {
				out = append(out, *c)
			}
		}
		return out, nil
	case QueryScores:
		if len(data) != 8 {
			return nil, fmt.Errorf("%w: %s wants u64 epoch, got %d bytes", ErrMalformedTx, path, len(data))
		}
		// By signer index, so that a proven answer proves every score
		// (and that the others have none).
		e := binary.BigEndian.Uint64(data)
		n, err := r.count()
		if err != nil {
			return nil, err
		}
		out := []Score{}
		for s := range n {
			b, err := v.get(keyScore(e, s))
			if err != nil {
				return nil, err
			}
			if b == nil {
				continue
			}
			sc := Score{Epoch: e, Signer: s}
			if err := sc.unmarshal(b); err != nil {
				return nil, err
			}
			out = append(out, sc)
		}
		return out, nil
	case QueryDispersers:
		out := []DisperserInfo{}
		err := v.scan([]byte("d/"), func(k, v []byte) error {
			var d DisperserInfo
			if err := d.unmarshal(DisperserKey(k[2:]), v); err != nil {
				return err
			}
			out = append(out, d)
			return nil
		})
		return out, err
	}
	return nil, fmt.Errorf("%w: unknown query path %q", ErrNotFound, path)
}

// blobLocation is key's batch, or ErrNotFound when the key was never
// certified or its batch has left the availability window (docs/spec.md §6).
func (a *App) blobLocation(r stateReader, key da.BlobKey, height int64) (*BlobLocation, error) {
	loc, epoch, err := r.blob(key)
	if err != nil {
		return nil, err
	}
	if loc == nil {
		return nil, fmt.Errorf("%w: no certificate for blob %s", ErrNotFound, key)
	}
	cur := a.epochOf(max(height, a.base))
	if w := a.params.AvailabilityEpochs; w != 0 && cur > epoch && cur-epoch > w {
		return nil, fmt.Errorf("%w: blob %s: its batch %s (certificate epoch %d) left the availability window of %d epochs (current epoch %d)",
			ErrNotFound, key, loc.BatchRoot, epoch, w, cur)
	}
	return loc, nil
}

func (a *App) epochInfo(r stateReader, e uint64) (*EpochInfo, error) {
	rec, err := r.epoch(e)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, fmt.Errorf("%w: epoch %d is not known yet (its seed is fixed at block %d)", ErrNotFound, e, a.epochStart(e-1))
	}
	// A proven answer leaves the VRF outputs out: a range of keys is not
	// proven, and the quorums (in the epoch record) are what a client checks.
	vrfs := []VRFRecord{}
	if !r.v.proving {
		var err error
		if vrfs, err = r.vrfs(e); err != nil {
			return nil, err
		}
		if vrfs == nil {
			vrfs = []VRFRecord{}
		}
	}
	qs := rec.quorums
	if qs == nil {
		qs = []da.Quorum{}
	}
	return &EpochInfo{
		Epoch:       e,
		Seed:        rec.seed,
		Started:     rec.started,
		StartHeight: a.epochStart(e),
		EndHeight:   a.epochStart(e+1) - 1,
		Quorums:     qs,
		VRFs:        vrfs,
	}, nil
}

// appHashOf is the app hash of the state v reads.
func (a *App) appHashOf(v view) []byte {
	if hs, ok := v.snap.(interface{ hash() []byte }); ok {
		return hs.hash()
	}
	return a.st.appHash
}
