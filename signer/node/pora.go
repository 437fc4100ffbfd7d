package node

import (
	"context"
	"errors"
	"time"

	"github.com/zgda/zgda/chain"
	"github.com/zgda/zgda/kzg"
)

// Proofs of random access (docs/spec.md §6 Proofs of random access): the
// chain challenges this node each epoch to return cells of rows it stores;
// answering in time earns points. A node that lost a row cannot answer: the
// cell has to come from the row, and the row's commitment alone proves
// nothing (the chain checks the cell against it).

// poraRound answers this node's pending challenges of epoch e that it has
// not answered yet, and publishes the score of epoch e−1. One round runs at
// a time; the epoch loop starts one every poll until all are answered.
func (n *Node) poraRound(e uint64) {
	if !n.poraBusy.CompareAndSwap(false, true) {
		return
	}
	defer n.poraBusy.Store(false)
	ctx, cancel := context.WithTimeout(n.ctx, 2*time.Minute)
	defer cancel()
	if e > 0 && n.poraScored.Load() != e-1 {
		if scores, err := n.client.Scores(ctx, e-1); err == nil {
			for _, sc := range scores {
				if sc.Signer == n.index {
					n.metrics.setScore(&sc)
				}
			}
			n.poraScored.Store(e - 1)
		}
	}
	cs, err := n.client.Challenges(ctx, e, n.index)
	if err != nil {
		if n.ctx.Err() == nil {
			n.log.Warn("reading proof-of-access challenges", "epoch", e, "err", err)
		}
		return
	}
	settled := true
	defer func() {
		if settled {
			n.poraSettled.Store(e + 1) // no more rounds this epoch
		}
	}()
	for i := range cs {
		c := &cs[i]
		key := poraKey{c.Epoch, c.Index}
		if c.Status != chain.PoRAPending || n.poraDone[key] {
			continue
		}
		err := n.answerChallenge(ctx, c)
		switch {
		case err == nil, errors.Is(err, chain.ErrDuplicate):
			n.poraDone[key] = true
			n.metrics.poraAnswers.WithLabelValues("answered").Inc()
			n.log.Debug("proof-of-access challenge answered", "epoch", c.Epoch, "index", c.Index, "batch", c.BatchRoot, "row", c.Row, "cell", c.Cell)
		case isNotFound(err):
			// The row is gone: the challenge will count missing. Say so once.
			n.poraDone[key] = true
			n.metrics.poraAnswers.WithLabelValues("row_missing").Inc()
			n.log.Error("cannot answer a proof-of-access challenge: the row is not stored", "epoch", c.Epoch, "batch", c.BatchRoot, "row", c.Row, "err", err)
		default:
			settled = false
			n.metrics.poraAnswers.WithLabelValues("failed").Inc()
			n.log.Warn("answering a proof-of-access challenge failed; retrying", "epoch", c.Epoch, "index", c.Index, "err", err)
		}
	}
	for k := range n.poraDone { // forget earlier epochs
		if k.epoch+1 < e {
			delete(n.poraDone, k)
		}
	}
}

// poraKey names one of this node's challenges.
type poraKey struct {
	epoch uint64
	index uint32
}

// answerChallenge proves the challenged cell from the stored row and
// submits it.
func (n *Node) answerChallenge(ctx context.Context, c *chain.Challenge) error {
	_, hdr, err := n.header(ctx, c.BatchRoot)
	if err != nil {
		return err
	}
	row, err := n.storedRow(ctx, c.BatchRoot, c.Row)
	if err != nil {
		return err
	}
	cell, proof, err := n.kzg.ComputeCellAndProof(row, uint64(c.Cell))
	if err != nil {
		return err
	}
	tx, err := chain.NewPoRATx(n.chainID, n.key, c, hdr, kzg.CellBytes(cell), proof)
	if err != nil {
		return err
	}
	_, err = n.client.Submit(ctx, tx)
	return err
}

func isNotFound(err error) bool {
	var nf *notFoundError
	return errors.As(err, &nf)
}
