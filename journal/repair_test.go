package journal

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/obzvon/obzvon/lists"
)

// TestRepairIndexes breaks the indexes the three ways a crash or a bug
// can (a person's keys missing, a key pointing at the wrong record, a key
// no record produces), checks that CheckIndexes sees each, and that
// RepairIndexes fixes all of them without touching the records.
func TestRepairIndexes(t *testing.T) {
	j := backends(t)["disk"](t)
	ctx := context.Background()
	if _, _, err := j.LoadRegistry(ctx, adm, strings.NewReader(miniRegistry), lists.FormatCSV, "mini.csv"); err != nil {
		t.Fatal(err)
	}
	ivanov := &Person{ENP: "1000000000000001", Surname: "Иванов", Name: "Иван", Patronymic: "Иванович", Birth: "1960-02-01", Phone: "+79000000001"}
	keys := ivanov.indexKeys()
	err := j.db.Update(func(txn *badger.Txn) error {
		for _, k := range keys { // the crash of issue 10: record without its keys
			if err := txn.Delete(k); err != nil {
				return err
			}
		}
		if err := txn.Set(ikey(idxPSurname, []byte("призрак"), []byte("x")), recordKey(kindPerson, "9999999999999999")); err != nil {
			return err
		}
		petrov := &Person{ENP: "1000000000000007", Surname: "Петров", Name: "Сергей", Patronymic: "Иванович", Birth: "1955-12-11"}
		return txn.Set(petrov.indexKeys()[0], recordKey(kindPerson, "1000000000000001"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := j.PersonsByPhone(ctx, adm, "89000000001"); containsENP(got, ivanov.ENP) {
		t.Fatalf("the broken person is still found by phone: the test broke nothing")
	}
	probs, err := j.CheckIndexes(ctx)
	if err != nil || len(probs) != len(keys)+2 {
		t.Fatalf("CheckIndexes after breaking = %v, %v; want %d problems", probs, err, len(keys)+2)
	}
	if _, err := j.RepairIndexes(ctx, op1); !errors.Is(err, ErrDenied) {
		t.Errorf("RepairIndexes as an operator = %v, want ErrDenied", err)
	}
	rep, err := j.RepairIndexes(ctx, adm)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Found) != len(keys)+2 || len(rep.Left) != 0 || rep.Reindexed != 2 || rep.Removed != 1 {
		t.Errorf("RepairIndexes = found %d, reindexed %d, removed %d, left %v; want %d, 2, 1, none",
			len(rep.Found), rep.Reindexed, rep.Removed, rep.Left, len(keys)+2)
	}
	mustHealthy(t, j)
	got, err := j.PersonsByPhone(ctx, adm, "89000000001")
	if err != nil || !containsENP(got, ivanov.ENP) {
		t.Errorf("PersonsByPhone after repair = %v, %v; want %s found", got, err, ivanov.ENP)
	}
	found, err := j.SearchPersons(ctx, adm, PersonQuery{Surname: "Иванов", Birth: "01.02.1960"})
	if err != nil || !containsENP(found, ivanov.ENP) {
		t.Errorf("SearchPersons after repair = %v, %v; want %s found", found, err, ivanov.ENP)
	}
	es, err := j.Audit(ctx, adm, AuditQuery{Subject: "journal:indexes"})
	if err != nil || len(es) != 1 || es[0].Op != "repair" {
		t.Errorf("audit of the repair = %v, %v; want one repair entry", es, err)
	}
}
