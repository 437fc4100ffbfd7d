package chain

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"

	abci "github.com/cometbft/cometbft/abci/types"

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
)

// queryMarshalHook, when set (by tests), runs before Query marshals its answer.
var queryMarshalHook func()

// Query implements abci.Application. It reads the last committed state
// (req.Height must be 0 or that height: no history is kept). The answer is
// read under the app's lock into values the query alone owns, and marshalled
// after the lock is released: an epoch's quorums make megabytes of JSON, and
// blocks and CheckTx need not wait for them.
func (a *App) Query(_ context.Context, req *abci.QueryRequest) (*abci.QueryResponse, error) {
	a.mu.Lock()
	height := a.st.height
	var val any
	var err error
	switch {
	case !a.ready:
		err = fmt.Errorf("%w: chain not initialized yet", ErrNotFound)
	case req.Height != 0 && req.Height != height:
		err = fmt.Errorf("%w: state at height %d (only the latest, %d, is kept)", ErrNotFound, req.Height, height)
	default:
		val, err = a.query(req.Path, req.Data)
	}
	a.mu.Unlock()
	if err != nil {
		return &abci.QueryResponse{Code: codeOf(err), Log: err.Error(), Codespace: Codespace, Height: height}, nil
	}
	if queryMarshalHook != nil {
		queryMarshalHook()
	}
	b, err := json.Marshal(val)
	if err != nil {
		return &abci.QueryResponse{Code: CodeInternal, Log: err.Error(), Codespace: Codespace}, nil
	}
	return &abci.QueryResponse{Code: CodeOK, Value: b, Height: height}, nil
}

// query answers path from the committed state; it runs under a.mu and
// returns values that share no memory with the app (fresh records, copies).
func (a *App) query(path string, data []byte) (any, error) {
	r := stateReader{view{s: a.st}}
	switch path {
	case QueryStatus:
		n, err := r.count()
		if err != nil {
			return nil, err
		}
		e := a.epochOf(max(a.st.height, a.base))
		return &AppStatus{
			ChainID:         a.chainID,
			Height:          a.st.height,
			AppHash:         hex.EncodeToString(a.st.appHash),
			Epoch:           e,
			NextEpochHeight: a.epochStart(e + 1),
			Signers:         n,
			Params:          a.params,
		}, nil
	case QueryParams:
		return a.params, nil
	case QuerySigners:
		out := []SignerInfo{}
		err := a.st.scanCommitted([]byte("s/"), func(k, v []byte) error {
			var s SignerInfo
			if err := s.unmarshal(binary.BigEndian.Uint32(k[2:]), v); err != nil {
				return err
			}
			out = append(out, s)
			return nil
		})
		return out, err
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
		e := a.epochOf(max(a.st.height, a.base))
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
		loc, err := a.blobLocation(r, da.BlobKey(data))
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
	case QueryDispersers:
		out := []DisperserInfo{}
		err := a.st.scanCommitted([]byte("d/"), func(k, v []byte) error {
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
func (a *App) blobLocation(r stateReader, key da.BlobKey) (*BlobLocation, error) {
	loc, epoch, err := r.blob(key)
	if err != nil {
		return nil, err
	}
	if loc == nil {
		return nil, fmt.Errorf("%w: no certificate for blob %s", ErrNotFound, key)
	}
	cur := a.epochOf(max(a.st.height, a.base))
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
	vrfs, err := r.vrfs(e)
	if err != nil {
		return nil, err
	}
	if vrfs == nil {
		vrfs = []VRFRecord{}
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
