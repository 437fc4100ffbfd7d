package bench

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
	goethkzg "github.com/crate-crypto/go-eth-kzg"
	"github.com/klauspost/reedsolomon"

	"github.com/zgda/zgda/cuda"
	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/kzg"
)

const rowPayload = encoder.BytesPerRow // what one zgda row carries

func randomRow(rng *rand.Rand) ([]fr.Element, *goethkzg.Blob) {
	row := make([]fr.Element, kzg.ScalarsPerRow)
	var blob goethkzg.Blob
	for i := range row {
		var a, b fr.Element
		a.SetUint64(rng.Uint64())
		b.SetUint64(rng.Uint64())
		row[i].Mul(&a, &b)
		row[i].Add(&row[i], &b)
		e := row[i].Bytes()
		copy(blob[i*32:], e[:])
	}
	return row, &blob
}

// runKZG: one row's commitment and its cells + proofs, beside go-eth-kzg.
func runKZG(ctx context.Context, o *Options) ([]Result, error) {
	o.progress("kzg: building tables (zgda) and loading go-eth-kzg")
	c := kzg.NewContext(kzg.WithWorkers(o.Workers))
	if err := c.Warm(); err != nil {
		return nil, err
	}
	eth, err := goethkzg.NewContext4096Secure()
	if err != nil {
		return nil, err
	}
	row, blob := randomRow(rand.New(rand.NewPCG(1, 2)))
	if _, _, err := c.ComputeCellsAndProofs(row); err != nil { // builds the FK20 tables
		return nil, err
	}
	var out []Result
	o.progress("kzg: commit/row")
	s, as, n, an, err := pair(ctx, o,
		func() error { _, err := c.Commit(row); return err },
		func() error { _, err := eth.BlobToKZGCommitment(blob, o.Workers); return err })
	if err != nil {
		return nil, err
	}
	out = append(out, results("kzg", "commit/row", "1 row", rowPayload, "zgda/cpu", s, n, "go-eth-kzg", as, an)...)
	o.progress("kzg: cells+proofs/row")
	s, as, n, an, err = pair(ctx, o,
		func() error { _, _, err := c.ComputeCellsAndProofs(row); return err },
		func() error { _, _, err := eth.ComputeCellsAndKZGProofs(blob, o.Workers); return err })
	if err != nil {
		return out, err
	}
	out = append(out, results("kzg", "cells+proofs/row", "1 row", rowPayload, "zgda/cpu", s, n, "go-eth-kzg", as, an)...)

	// What a light client does per blob: verify 16 sampled cells of 4 rows
	// in one EIP-7594 batch, beside verifying them one by one.
	o.progress("kzg: verify 16 samples")
	const samples, sampleRows = 16, 4
	rng := rand.New(rand.NewPCG(5, 6))
	comms := make([]kzg.Commitment, samples)
	idx := make([]uint64, samples)
	cells := make([][]fr.Element, samples)
	proofs := make([]kzg.Proof, samples)
	for r := range sampleRows {
		row, _ := randomRow(rng)
		cm, err := c.Commit(row)
		if err != nil {
			return out, err
		}
		cs, ps, err := c.ComputeCellsAndProofs(row)
		if err != nil {
			return out, err
		}
		for i := r; i < samples; i += sampleRows {
			k := rng.IntN(kzg.CellsPerRow)
			comms[i], idx[i], cells[i], proofs[i] = cm, uint64(k), cs[k], ps[k]
		}
	}
	if err := c.VerifyCells(comms, idx, cells, proofs); err != nil { // warms the setup and FFT domains
		return out, err
	}
	s, as, n, an, err = pair(ctx, o,
		func() error { return c.VerifyCells(comms, idx, cells, proofs) },
		func() error {
			for i := range samples {
				if err := c.VerifyCell(comms[i], idx[i], cells[i], proofs[i]); err != nil {
					return err
				}
			}
			return nil
		})
	if err != nil {
		return out, err
	}
	return append(out, results("kzg", "verify/16 samples", "16 cells", samples*kzg.BytesPerCell, "zgda/batch", s, n, "one by one", as, an)...), nil
}

// runEncode: the codec's encode of one blob per size and of a batch of
// BatchBlobs one-row blobs (docs/spec.md §3.3 Batch matrix, §3.4 Column
// extension). "extend+commit" is the whole encode from bytes: pack, commit
// every data row (one CommitRows call over all the batch's rows, as the
// engine commits many posts at once), then EncodeBatch (extend ×4, derive
// the 3D parity commitments); on the CPU its anchor is go-eth-kzg
// committing the same data rows alone (BlobToKZGCommitment per row), so the
// ratio says what the whole encode costs against commitments alone.
// "extend+derive" is EncodeBatch alone.
func runEncode(ctx context.Context, o *Options) ([]Result, error) {
	enc, err := encoder.New(encoder.WithWorkers(o.Workers))
	if err != nil {
		return nil, err
	}
	// An accelerated backend is timed beside the CPU, which is its anchor.
	var accel *encoder.Encoder
	if o.Backend != nil && o.Backend.Name() != "cpu" {
		if accel, err = encoder.New(encoder.WithBackend(o.Backend), encoder.WithWorkers(o.Workers)); err != nil {
			return nil, err
		}
	}
	c := kzg.NewContext(kzg.WithWorkers(o.Workers))
	o.progress("encode: building tables")
	if err := c.Warm(); err != nil {
		return nil, err
	}
	var eth *goethkzg.Context
	if accel == nil {
		if eth, err = goethkzg.NewContext4096Secure(); err != nil {
			return nil, err
		}
	}
	var cm encoder.Committer = c
	if o.Committer != nil {
		cm = o.Committer
	}
	rng := rand.New(rand.NewPCG(3, 4))
	type job struct {
		name  string
		blobs [][]byte
	}
	var jobs []job
	for _, size := range o.Sizes {
		if size > encoder.MaxBlobSize {
			return nil, fmt.Errorf("bench: size %d is over the maximum blob size %d", size, encoder.MaxBlobSize)
		}
		jobs = append(jobs, job{HumanSize(size), [][]byte{randomBytes(rng, size)}})
	}
	if o.BatchBlobs > 0 {
		j := job{name: fmt.Sprintf("%dx%s", o.BatchBlobs, HumanSize(encoder.BytesPerRow))}
		for range o.BatchBlobs {
			j.blobs = append(j.blobs, randomBytes(rng, encoder.BytesPerRow))
		}
		jobs = append(jobs, j)
	}
	var out []Result
	for _, j := range jobs {
		total := 0
		for _, b := range j.blobs {
			total += len(b)
		}
		o.progress("encode: %s", j.name)
		blobs, err := commitBlobs(ctx, c, j.blobs)
		if err != nil {
			return out, err
		}
		for _, op := range []string{"extend+commit", "extend+derive"} {
			run := func(e *encoder.Encoder, cm encoder.Committer) func() error {
				return func() error {
					bs := blobs
					if op == "extend+commit" {
						var err error
						if bs, err = commitBlobs(ctx, cm, j.blobs); err != nil {
							return err
						}
					}
					b, err := e.EncodeBatch(ctx, cm, bs, nil)
					if err == nil {
						b.Release() // hands a lent output set back for the next run
					}
					return err
				}
			}
			if accel != nil {
				s, as, n, an, err := pair(ctx, o, run(accel, cm), run(enc, c))
				if err != nil {
					return out, err
				}
				out = append(out, results("encode", op, j.name, int64(total), "zgda/"+o.Backend.Name(), s, n, "zgda/cpu", as, an)...)
				continue
			}
			if op == "extend+commit" {
				rows, err := ethBlobs(j.blobs)
				if err != nil {
					return out, err
				}
				commitAlone := func() error {
					for _, r := range rows {
						if _, err := eth.BlobToKZGCommitment(r, o.Workers); err != nil {
							return err
						}
					}
					return nil
				}
				s, as, n, an, err := pair(ctx, o, run(enc, c), commitAlone)
				if err != nil {
					return out, err
				}
				out = append(out, results("encode", op, j.name, int64(total), "zgda/cpu", s, n, "go-eth-kzg commit", as, an)...)
				continue
			}
			s, _, n, _, err := pair(ctx, o, run(enc, c), nil)
			if err != nil {
				return out, err
			}
			out = append(out, results("encode", op, j.name, int64(total), "zgda/cpu", s, n, "", 0, 0)...)
		}
	}
	return out, nil
}

// commitBlobs packs the blobs and commits all their rows in one CommitRows
// call.
func commitBlobs(ctx context.Context, c encoder.Committer, raw [][]byte) ([]*encoder.Blob, error) {
	var rows [][]fr.Element
	packed := make([][][]fr.Element, len(raw))
	for i, b := range raw {
		p, err := encoder.Pack(b)
		if err != nil {
			return nil, err
		}
		packed[i] = p
		rows = append(rows, p...)
	}
	comms, err := c.CommitRows(ctx, rows, nil)
	if err != nil {
		return nil, err
	}
	out := make([]*encoder.Blob, len(raw))
	for i, b := range raw {
		r := len(packed[i])
		if out[i], err = encoder.NewBlob(len(b), packed[i], comms[:r]); err != nil {
			return nil, err
		}
		comms = comms[r:]
	}
	return out, nil
}

// ethBlobs packs the blobs as the encoder does and gives each data row as
// an EIP-4844 blob (its 4096 elements, 32 bytes big-endian each).
func ethBlobs(raw [][]byte) ([]*goethkzg.Blob, error) {
	var out []*goethkzg.Blob
	for _, b := range raw {
		rows, err := encoder.Pack(b)
		if err != nil {
			return nil, err
		}
		for _, row := range rows {
			var blob goethkzg.Blob
			for i := range row {
				e := row[i].Bytes()
				copy(blob[i*32:], e[:])
			}
			out = append(out, &blob)
		}
	}
	return out, nil
}

func randomBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// runRS: the storage layer's byte-level Reed–Solomon (klauspost) for the
// shard layouts storage uses, and beside it the CUDA encoder when
// libzgda_cuda.so and a device are present: host to host (PCIe both ways)
// and device-resident (the kernel alone).
func runRS(ctx context.Context, o *Options) ([]Result, error) {
	lib, libErr := cuda.Load()
	var out []Result
	for _, l := range []struct{ k, m int }{{4, 2}, {10, 4}} {
		rs, err := reedsolomon.New(l.k, l.m)
		if err != nil {
			return nil, err
		}
		var gpu *cuda.RSEncoder
		if libErr == nil {
			if gpu, err = cuda.NewRSEncoder(lib, 0, l.k, l.m); err != nil {
				o.progress("rs: no CUDA encoder: %v", err)
				gpu = nil
			} else {
				defer gpu.Close()
			}
		}
		for _, size := range []int{128 << 10, 32 << 20} {
			data := make([]byte, size)
			shards, err := rs.Split(data)
			if err != nil {
				return nil, err
			}
			name := fmt.Sprintf("encode/%d+%d", l.k, l.m)
			o.progress("rs: %s %s", name, HumanSize(size))
			cpu := func() error { return rs.Encode(shards) }
			if gpu == nil {
				s, _, n, _, err := pair(ctx, o, cpu, nil)
				if err != nil {
					return out, err
				}
				out = append(out, results("rs", name, HumanSize(size), int64(size), "klauspost/cpu", s, n, "", 0, 0)...)
				continue
			}
			s, as, n, an, err := pair(ctx, o, func() error { return gpu.Encode(shards) }, cpu)
			if err != nil {
				return out, err
			}
			out = append(out, results("rs", name, HumanSize(size), int64(size), "zgda/cuda", s, n, "klauspost/cpu", as, an)...)
			dev, err := gpu.NewDeviceShards(len(shards[0]))
			if err != nil {
				return out, err
			}
			err = dev.Upload(shards[:l.k])
			if err == nil {
				s, _, n, _, err = pair(ctx, o, dev.Encode, nil)
			}
			dev.Free()
			if err != nil {
				return out, err
			}
			out = append(out, results("rs", name, HumanSize(size), int64(size), "zgda/cuda-resident", s, n, "", 0, 0)...)
		}
	}
	return out, nil
}
