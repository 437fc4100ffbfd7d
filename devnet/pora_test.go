package devnet

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/zgda/zgda/chain"
	"github.com/zgda/zgda/client"
	"github.com/zgda/zgda/kzg"
)

// Proofs of random access on a devnet over several epochs: every honest DA
// node answers every challenge in time; a node whose disk was replaced (its
// rows gone) has its challenges counted missing; a forged proof is refused.
func TestPoRAOnDevnet(t *testing.T) {
	const E = 40
	cfg := TestConfig(t.TempDir())
	cfg.EpochLength = E
	cfg.Params = func(p *chain.Params) { p.PoRAChallenges, p.PoRADeadline = 2, E-5 }
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	n, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	cl := client.New(n.URL(), client.WithPollInterval(20*time.Millisecond))
	for range 3 {
		blob := make([]byte, 60_000)
		rand.Read(blob)
		put, err := cl.Put(ctx, blob)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cl.WaitCertified(ctx, put.BlobKey); err != nil {
			t.Fatal(err)
		}
	}
	// Node 3 loses its disk.
	if err := n.RestartNode(ctx, 3, true); err != nil {
		t.Fatal(err)
	}
	cc := n.Chain().Client()
	st, err := cc.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	first := st.Epoch + 1 // the first epoch wholly after the loss
	last := first + 1
	// A forged answer (another cell's proof) is refused while epoch first
	// runs. It is forged for node 3, which has no rows and never answers, so
	// no honest answer can reach the chain first and turn the refusal into
	// a duplicate.
	if err := cc.WaitForHeight(ctx, 1+int64(first*E)); err != nil {
		t.Fatal(err)
	}
	cs, err := cc.Challenges(ctx, first, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) == 0 {
		t.Fatalf("node 3 has no challenge in epoch %d", first)
	}
	if err := submitForged(ctx, n, 3, &cs[0]); err != nil {
		t.Fatal(err)
	}
	// Two epochs later every score of first … last is final.
	if err := cc.WaitForHeight(ctx, 1+int64((last+1)*E)+1); err != nil {
		t.Fatal(err)
	}
	for e := first; e <= last; e++ {
		scores, err := cc.Scores(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		by := map[uint32]chain.Score{}
		for _, sc := range scores {
			by[sc.Signer] = sc
		}
		for s := range uint32(4) {
			sc := by[s]
			if sc.Challenged == 0 {
				t.Fatalf("epoch %d: signer %d was not challenged: %+v", e, s, sc)
			}
			if s < 3 && (sc.InTime != sc.Challenged || sc.Missing+sc.Late+sc.Invalid != 0 || sc.Points != uint64(sc.InTime)) {
				t.Fatalf("epoch %d: honest signer %d: %+v", e, s, sc)
			}
			if s == 3 && (sc.Missing != sc.Challenged || sc.InTime+sc.Late != 0) {
				t.Fatalf("epoch %d: signer %d, the node without its rows: %+v", e, s, sc)
			}
		}
		t.Logf("epoch %d scores: %+v", e, scores)
	}
}

// submitForged answers challenge c of DA node s with another cell's proof
// and checks that the chain refuses it as invalid.
func submitForged(ctx context.Context, n *Network, s int, c *chain.Challenge) error {
	d := n.Dispatcher()
	hdr, err := d.BatchHeader(ctx, c.BatchRoot)
	if err != nil {
		return err
	}
	row, err := d.FetchRow(ctx, c.BatchRoot, c.Row)
	if err != nil {
		return err
	}
	cell, _, err := kzg.Default().ComputeCellAndProof(row, uint64(c.Cell))
	if err != nil {
		return err
	}
	_, wrong, err := kzg.Default().ComputeCellAndProof(row, uint64((c.Cell+1)%128))
	if err != nil {
		return err
	}
	key, err := deriveKey(n.seed, "node", s)
	if err != nil {
		return err
	}
	tx, err := chain.NewPoRATx(n.cfg.ChainID, key, c, hdr, kzg.CellBytes(cell), wrong)
	if err != nil {
		return err
	}
	if _, err := n.Chain().Client().Submit(ctx, tx); !errors.Is(err, chain.ErrInvalidAnswer) {
		return fmt.Errorf("a forged proof: %v, want ErrInvalidAnswer", err)
	}
	return nil
}
