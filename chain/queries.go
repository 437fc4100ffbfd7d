package chain

import (
	"context"
	"encoding/binary"

	"github.com/zgda/zgda/da"
)

// queries are the Client's typed queries over one query function (path,
// data → JSON answer into out): the plain client's believes the RPC, the
// verifying client's checks every answer (verified.go). One set of
// methods serves both.
type queries struct {
	query func(ctx context.Context, path string, data []byte, out any) error
}

func (q queries) Status(ctx context.Context) (*AppStatus, error) {
	var s AppStatus
	return &s, q.query(ctx, QueryStatus, nil, &s)
}

func (q queries) Signers(ctx context.Context) ([]SignerInfo, error) {
	var s []SignerInfo
	return s, q.query(ctx, QuerySigners, nil, &s)
}

func (q queries) Signer(ctx context.Context, pk da.PublicKey) (*SignerInfo, error) {
	var s SignerInfo
	if err := q.query(ctx, QuerySigner, pk[:], &s); err != nil {
		return nil, err
	}
	return &s, nil
}

func (q queries) Epoch(ctx context.Context, epoch uint64) (*EpochInfo, error) {
	var e EpochInfo
	if err := q.query(ctx, QueryEpoch, binary.BigEndian.AppendUint64(nil, epoch), &e); err != nil {
		return nil, err
	}
	return &e, nil
}

func (q queries) CurrentEpoch(ctx context.Context) (*EpochInfo, error) {
	var e EpochInfo
	if err := q.query(ctx, QueryEpoch, nil, &e); err != nil {
		return nil, err
	}
	return &e, nil
}

func (q queries) Certificate(ctx context.Context, root da.Hash) (*CertificateRecord, error) {
	var r CertificateRecord
	if err := q.query(ctx, QueryCertificate, root[:], &r); err != nil {
		return nil, err
	}
	return &r, nil
}

func (q queries) CertificateForBlob(ctx context.Context, key da.BlobKey) (*CertificateRecord, error) {
	var r CertificateRecord
	if err := q.query(ctx, QueryBlob, key[:], &r); err != nil {
		return nil, err
	}
	return &r, nil
}

func (q queries) BlobBatch(ctx context.Context, key da.BlobKey) (*BlobLocation, error) {
	var l BlobLocation
	if err := q.query(ctx, QueryBlobBatch, key[:], &l); err != nil {
		return nil, err
	}
	return &l, nil
}

func (q queries) Disperser(ctx context.Context, key DisperserKey) (*DisperserInfo, error) {
	var d DisperserInfo
	if err := q.query(ctx, QueryDisperser, key[:], &d); err != nil {
		return nil, err
	}
	return &d, nil
}

func (q queries) Challenges(ctx context.Context, epoch uint64, signer uint32) ([]Challenge, error) {
	var out []Challenge
	return out, q.query(ctx, QueryChallenges, binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint64(nil, epoch), signer), &out)
}

func (q queries) Scores(ctx context.Context, epoch uint64) ([]Score, error) {
	var out []Score
	return out, q.query(ctx, QueryScores, binary.BigEndian.AppendUint64(nil, epoch), &out)
}
