package chain

import (
	"context"
	"fmt"
	abci "github.com/cometbft/cometbft/abci/types"
	"sync"
	"testing"
	"time"
)

// BenchmarkCertificateVerify is the chain's whole check of one certificate
// with a 1024-slot quorum and 100 signers: decoding, the batch root, state
// lookups, the slot threshold of each blob, and the aggregate signature
// (FastAggregateVerify over 100 cached keys). The README anchors it: blst
// FastAggregateVerify(100) ≈ 2.5 ms; target ≤ 5 ms for the certificate.
func BenchmarkCertificateVerify(b *testing.B) {
	for _, nb := range []int{1, 16} {
		b.Run(fmt.Sprintf("M=1024/signers=100/blobs=%d", nb), func(b *testing.B) {
			p := DefaultParams()
			stakes := make([]uint64, 100)
			for i := range stakes {
				stakes[i] = 11 // 1100 tickets: one full quorum of 1024
			}
			h := newHarness(b, p, stakes, false)
			q := h.epoch(0).Quorums[0]
			if len(q.Members()) != 100 {
				b.Fatalf("%d members", len(q.Members()))
			}
			all := make([]int, 100)
			for i := range all {
				all[i] = i
			}
			c := certify(b, h.keys, testChainID, 0, 0, blobs("bench", nb, 256/uint32(nb)), all...)
			tx := certTx(b, c)
			v := view{s: h.app.st}
			b.SetBytes(int64(len(tx)))
			b.ReportAllocs()
			for b.Loop() {
				h.app.verified = newHashSet(16) // measure the signature check every time
				job, err := h.app.execTx(v, tx, 2, true)
				if err != nil || job == nil {
					b.Fatal(err, job)
				}
				if err := h.app.runSigJob(job); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkNodeCertificateTxs pushes certificate transactions through a
// single-validator node (CheckTx, consensus, FinalizeBlock, Commit) from 32
// concurrent submitters and reports committed transactions per second.
func BenchmarkNodeCertificateTxs(b *testing.B) {
	const perRound = 400
	g, keys, _ := testGenesis(b, 4, 1<<20)
	g.Params.QuorumSize = 1024
	for i := range g.Signers {
		g.Signers[i].Stake = 256
	}
	home := b.TempDir()
	cfg := testNodeConfig(b, false)
	if err := InitHome(home, InitOptions{ChainID: testChainID, Genesis: g, Config: cfg}); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	n, err := StartNode(ctx, home)
	if err != nil {
		b.Fatal(err)
	}
	defer n.Stop()
	c := n.Client()
	round := 0
	var total int
	var elapsed time.Duration
	for b.Loop() {
		b.StopTimer()
		txs := make([][]byte, perRound)
		var wg sync.WaitGroup
		for w := 0; w < 2; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := w; i < perRound; i += 2 {
					cert := certify(b, keys, testChainID, 0, 0, blobs(fmt.Sprintf("tput-%d-%d", round, i), 4, 16), 0, 1, 2)
					txs[i] = certTx(b, cert)
				}
			}(w)
		}
		wg.Wait()
		round++
		b.StartTimer()
		start := time.Now()
		work := make(chan []byte, perRound)
		for _, tx := range txs {
			work <- tx
		}
		close(work)
		errs := make(chan error, perRound)
		for w := 0; w < 32; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for tx := range work {
					if _, err := c.Submit(ctx, tx); err != nil {
						errs <- err
					}
				}
			}()
		}
		wg.Wait()
		elapsed += time.Since(start)
		total += perRound
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(total)/elapsed.Seconds(), "tx/s")
}

// BenchmarkAppCertificates is the app accepting blocks of 64 certificate
// transactions (16 blobs each: one certificate record, a batch sequence
// entry and 16 blob keys written per transaction) on the authenticated IAVL
// state ("iavl") and, beside it, on the hash-chained Pebble store zgda had
// before ("hashchain", hashchain_test.go); txs/s is certificate
// transactions per second.
//
// "accept" times everything the app does to accept a transaction: CheckTx
// (decoding, state checks and the aggregate signature, as the mempool runs
// it), then FinalizeBlock and Commit of the block. "state" leaves CheckTx
// out of the timer, so FinalizeBlock and Commit measure the state work
// alone, where the two stores differ most.
func BenchmarkAppCertificates(b *testing.B) {
	const perBlock = 64
	for _, mode := range []string{"accept", "state"} {
		for _, bc := range []struct {
			name string
			open func(dir string) (backend, error)
		}{
			{"iavl", func(dir string) (backend, error) { return openIAVL(dir, defaultKeepHeights) }},
			{"hashchain", func(dir string) (backend, error) { return openHashChain(dir) }},
		} {
			b.Run(mode+"/txs=64/"+bc.name, func(b *testing.B) {
				harnessBackend = bc.open
				defer func() { harnessBackend = nil }()
				h := newHarness(b, smallParams(), []uint64{256, 256, 256, 256}, false)
				h.block()
				all := []int{0, 1, 2, 3}
				n := 0
				b.ReportAllocs()
				for b.Loop() {
					b.StopTimer()
					txs := make([][]byte, perBlock)
					for i := range txs {
						c := certify(b, h.keys, testChainID, 0, 0, blobs(fmt.Sprintf("bench-%d", n), 16, 16), all...)
						txs[i] = certTx(b, c)
						n++
					}
					if mode == "accept" {
						b.StartTimer()
					}
					for _, tx := range txs {
						if err := h.check(tx); err != nil {
							b.Fatal(err)
						}
					}
					b.StartTimer()
					for _, err := range h.block(txs...) {
						if err != nil {
							b.Fatal(err)
						}
					}
				}
				b.ReportMetric(float64(b.N*perBlock)/b.Elapsed().Seconds(), "txs/s")
			})
		}
	}
}

// BenchmarkVerifiedQuery is a verifying client's work for one answer, once
// it holds a verified header: the ICS-23 proofs checked against the app
// hash and the answer recomputed from the proven records, for a
// certificate (16 blobs), a blob's batch and epoch 0 with its 1024-slot
// quorum. proof-bytes is what the proofs add to the answer. The header
// itself costs one light-client verification per block, shared by every
// query in it.
func BenchmarkVerifiedQuery(b *testing.B) {
	h := newHarness(b, smallParams(), []uint64{256, 256, 256, 256}, false)
	h.block()
	c := certify(b, h.keys, testChainID, 0, 0, blobs("vq", 16, 16), 0, 1, 2, 3)
	if err := h.deliver(certTx(b, c)); err != nil {
		b.Fatal(err)
	}
	root := h.app.AppHash()
	client := &App{chainID: testChainID, params: h.app.params, base: h.app.base, ready: true}
	for _, q := range []struct {
		name, path string
		data       []byte
	}{
		{"certificate", QueryCertificate, c.BatchRoot[:]},
		{"blob_batch", QueryBlobBatch, c.Blobs[7].Key[:]},
		{"epoch", QueryEpoch, make([]byte, 8)},
	} {
		b.Run(q.name, func(b *testing.B) {
			res, err := h.app.Query(context.Background(), &abci.QueryRequest{Path: q.path, Data: q.data, Prove: true})
			if err != nil || res.Code != CodeOK {
				b.Fatal(err, res.Log)
			}
			size := 0
			for _, op := range res.ProofOps.Ops {
				size += len(op.Data)
			}
			b.ReportAllocs()
			for b.Loop() {
				proven, err := verifyProofs(res.ProofOps.Ops, root)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := client.query(view{snap: provenSnapshot{proven, root}, proving: true}, res.Height, q.path, q.data); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(size), "proof-bytes")
		})
	}
}

// BenchmarkPoRAAnswer is the chain's check of one proof-of-access answer
// for a parity row of a batch of D data rows: header validation (key
// hashes), the row's commitment derived from D blob commitments (a D-point
// MSM) and the cell proof's pairing check. tx-bytes is the answer's size
// (the header grows by 48 bytes a row: 23,554 bytes at most, for D = 256).
func BenchmarkPoRAAnswer(b *testing.B) {
	for _, d := range []int{4, 32} {
		b.Run(fmt.Sprintf("D=%d", d), func(b *testing.B) {
			bt := realBatch(b, d*126_976)
			h := newHarness(b, smallParams(), []uint64{256, 256, 256, 256}, false)
			ch := &Challenge{Epoch: 0, Signer: 0, BatchRoot: bt.Root, Row: uint32(bt.N - 1), Cell: 77}
			raw := answer(b, h, ch, bt)
			tx, err := DecodeTx(raw)
			if err != nil {
				b.Fatal(err)
			}
			r := stateReader{view{s: h.app.st}}
			b.ReportAllocs()
			for b.Loop() {
				if err := h.app.checkAnswer(r, ch, tx.(*PoRATx)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(raw)), "tx-bytes")
		})
	}
}
