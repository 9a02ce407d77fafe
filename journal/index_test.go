package journal

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// TestIndexProperty runs random operations on every record kind, then
// checks that every index key points at a live record that produces it
// and every record's keys exist; then breaks the store on purpose to show
// the check notices.
func TestIndexProperty(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 99))
			j, err := Open(DefaultOptions(t.TempDir()))
			if err != nil {
				t.Fatal(err)
			}
			defer j.Close()
			ctx := context.Background()
			actors := []Actor{op1, op2, adm, {"rep", RoleRepL1}}
			phones := []string{"+79000000001", "+79000000002", "", "+79000000003"}
			var appeals, calls []string
			base := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
			for i := 0; i < 300; i++ {
				who := actors[rng.IntN(len(actors))]
				switch op := rng.IntN(6); {
				case op == 0 || len(appeals) == 0:
					a := card(phones[rng.IntN(len(phones))], "")
					if rng.IntN(2) == 0 {
						a.Person = PersonData{ENP: fmt.Sprintf("%016d", rng.IntN(5))}
					}
					a.Queue = []string{"", "oms", "screening"}[rng.IntN(3)]
					if err := j.CreateAppeal(ctx, who, a); err == nil {
						appeals = append(appeals, a.ID)
					}
				case op == 1:
					c := &CallRecord{Direction: "inbound", Arrived: base.Add(time.Duration(rng.IntN(1000)) * time.Minute)}
					if len(calls) > 0 && rng.IntN(2) == 0 {
						c.ID = calls[rng.IntN(len(calls))]
					}
					if err := j.PutCall(ctx, c); err != nil {
						t.Fatal(err)
					}
					calls = append(calls, c.ID)
				case op == 2:
					_, _ = j.EditAppeal(ctx, who, appeals[rng.IntN(len(appeals))], AppealEdit{Phone: ptr(phones[rng.IntN(len(phones))]), Text: ptr(fmt.Sprint("t", i))})
				default:
					steps := []Step{
						{Move: MoveClose, Resolution: ResolutionExplained, Comment: "c"},
						{Move: MoveClose, Resolution: ResolutionForwarded, Comment: "c", To: actors[rng.IntN(len(actors))].Login},
						{Move: MoveResume}, {Move: MoveApprove}, {Move: MoveReturn, Comment: "r"},
						{Move: MoveTransfer, To: actors[rng.IntN(len(actors))].Login},
					}
					_, _ = j.Move(ctx, who, appeals[rng.IntN(len(appeals))], steps[rng.IntN(len(steps))])
				}
			}
			mustHealthy(t, j)

			// The check must be able to fail: a dangling index key and a
			// record with a missing key are both reported.
			err = j.db.Update(func(txn *badger.Txn) error {
				if err := txn.Set(ikey(idxAppealStatus, []byte("in_work"), []byte("ghost")), recordKey(kindAppeal, "ghost")); err != nil {
					return err
				}
				return txn.Delete(ikey(idxCallArrived, be64(base), []byte("x"))) // harmless: not present
			})
			if err != nil {
				t.Fatal(err)
			}
			a, _ := j.Appeal(ctx, adm, appeals[0])
			if err := j.db.Update(func(txn *badger.Txn) error { return txn.Delete(ikey(idxAppealNumber, []byte(a.Number))) }); err != nil {
				t.Fatal(err)
			}
			probs, err := j.CheckIndexes(ctx)
			if err != nil || len(probs) != 2 {
				t.Fatalf("CheckIndexes after breaking = %v, %v; want 2 problems", probs, err)
			}
		})
	}
}
