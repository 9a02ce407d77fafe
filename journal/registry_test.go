package journal

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/obzvon/obzvon/lists"
)

const miniRegistry = "Фамилия;Имя;Отчество;Дата рождения;ЕНП;Телефон\n" +
	"Иванов;Иван;Иванович;01.02.1960;1000000000000001;89000000001\n" +
	"Иванова;Мария;Петровна;03.04.1970;1000000000000002;\n" +
	"Иванович;Пётр;Сергеевич;05.06.1980;1000000000000003;\n" +
	"Фёдоров;Иван;Ильич;01.02.1960;1000000000000004;\n" +
	"Иванов;Иван;Петрович;07.08.1990;1000000000000005;\n" +
	"Иваненко;Олег;;09.10.2000;1000000000000006;\n" +
	"Петров;Сергей;Иванович;11.12.1955;1000000000000007;89000000001\n" +
	"Бадрow;Х;;31.02.1999;1000000000000008;\n"

func TestRegistryLoadAndSearch(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			j := open(t)
			ctx := context.Background()
			st, rowErrs, err := j.LoadRegistry(ctx, adm, strings.NewReader(miniRegistry), lists.FormatCSV, "mini.csv")
			if err != nil {
				t.Fatal(err)
			}
			if st.Rows != 7 || st.Inserted != 7 || st.Rejected != 1 || len(rowErrs) != 1 || rowErrs[0].Line != 9 {
				t.Fatalf("LoadRegistry = %+v, %v; want 7 inserted, line 9 rejected", st, rowErrs)
			}
			tests := []struct {
				q    PersonQuery
				want string // ENP suffixes in order
			}{
				{PersonQuery{Surname: "иванов"}, "1 5 2 3"},
				{PersonQuery{Surname: "ИВАН", Name: "ив"}, "1 5"},
				{PersonQuery{Surname: "Иванов", Name: "Иван", Patronymic: "П"}, "5"},
				{PersonQuery{Surname: "федоров"}, "4"},
				{PersonQuery{Surname: "фЁд"}, "4"},
				{PersonQuery{Birth: "01.02.1960"}, "1 4"},
				{PersonQuery{Birth: "1960-02-01", Surname: "ив"}, "1"},
				{PersonQuery{Name: "иван"}, "1 5 4"},
				{PersonQuery{Patronymic: "иванович"}, "1 7"},
				{PersonQuery{Patronymic: "иванов"}, "1 7"},
				{PersonQuery{Surname: "Сидоров"}, ""},
			}
			for _, tt := range tests {
				got, err := j.SearchPersons(ctx, op1, tt.q)
				if err != nil {
					t.Fatalf("SearchPersons(%+v) = %v", tt.q, err)
				}
				var ids []string
				for _, p := range got {
					ids = append(ids, strings.TrimLeft(p.ENP[1:], "0"))
				}
				if g := strings.Join(ids, " "); g != tt.want {
					t.Errorf("SearchPersons(%+v) = %q, want %q", tt.q, g, tt.want)
				}
			}
			if _, err := j.SearchPersons(ctx, op1, PersonQuery{}); !errors.Is(err, ErrInvalid) {
				t.Errorf("empty search = %v, want ErrInvalid", err)
			}
			if _, err := j.SearchPersons(ctx, op1, PersonQuery{Birth: "31.02.1990"}); !errors.Is(err, ErrInvalid) {
				t.Errorf("search by 31.02 = %v, want ErrInvalid", err)
			}
			if _, err := j.SearchPersons(ctx, Actor{"c", RoleCampaignStaff}, PersonQuery{Surname: "и"}); !errors.Is(err, ErrDenied) {
				t.Errorf("search by campaign staff = %v, want ErrDenied", err)
			}
			if ps, _ := j.PersonsByPhone(ctx, op1, "8 900 000-00-01"); len(ps) != 2 {
				t.Errorf("PersonsByPhone = %d persons, want 2", len(ps))
			}

			// Reload: nothing duplicated; a changed surname moves its index.
			st, _, err = j.LoadRegistry(ctx, adm, strings.NewReader(miniRegistry), lists.FormatCSV, "mini.csv")
			if err != nil || st.Unchanged != 7 || st.Inserted != 0 {
				t.Fatalf("reload = %+v, %v; want 7 unchanged", st, err)
			}
			changed := strings.Replace(miniRegistry, "Иваненко;Олег", "Смирнов;Олег", 1)
			st, _, err = j.LoadRegistry(ctx, adm, strings.NewReader(changed), lists.FormatCSV, "mini2.csv")
			if err != nil || st.Updated != 1 || st.Unchanged != 6 {
				t.Fatalf("changed reload = %+v, %v; want 1 updated", st, err)
			}
			if got, _ := j.SearchPersons(ctx, op1, PersonQuery{Surname: "иваненко"}); len(got) != 0 {
				t.Errorf("old surname still found: %+v", got)
			}
			if got, _ := j.SearchPersons(ctx, op1, PersonQuery{Surname: "смирнов"}); len(got) != 1 || got[0].Source != "mini2.csv" {
				t.Errorf("new surname = %+v", got)
			}
			p, err := j.Person(ctx, op1, "1000000000000001")
			if err != nil || p.Phone != "+79000000001" {
				t.Fatalf("Person = %+v, %v", p, err)
			}
			au, _ := j.Audit(ctx, adm, AuditQuery{Person: "1000000000000001"})
			if len(au) != 1 || au[0].Op != "read" || au[0].Account != "op1" {
				t.Errorf("audit by person = %+v, want op1's read", au)
			}
			if _, _, err := j.LoadRegistry(ctx, op1, strings.NewReader(miniRegistry), lists.FormatCSV, "x"); !errors.Is(err, ErrDenied) {
				t.Errorf("load by operator = %v, want ErrDenied", err)
			}
			mustHealthy(t, j)
		})
	}
}

func TestRegistrySampleFiles(t *testing.T) {
	j, _ := Open(Options{InMemory: true})
	defer j.Close()
	for _, name := range []string{"testdata/survey-list.csv", "testdata/survey-list-cp1251.csv"} {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		st, errs, err := j.LoadRegistry(context.Background(), adm, f, lists.FormatOf(name), name)
		f.Close()
		if err != nil || st.Rows != 60 || len(errs) != 0 {
			t.Fatalf("LoadRegistry(%s) = %+v, %v, %v; want 60 rows", name, st, errs, err)
		}
	}
	// Same people in both encodings: the second load changes nothing but
	// the source.
	got, _ := j.SearchPersons(context.Background(), op1, PersonQuery{Surname: "федорова", Name: "мария"})
	if len(got) == 0 || got[0].Surname != "Фёдорова" {
		t.Fatalf("search in loaded sample = %+v", got)
	}
	mustHealthy(t, j)
}

// TestRegistryLoadBatches loads a registry of several load batches twice
// on disk, the second time with some surnames changed, and checks the
// counts, the moved index keys and the index consistency.
func TestRegistryLoadBatches(t *testing.T) {
	const rows = 2*loadBatch + 500
	var buf strings.Builder
	if err := lists.WriteSyntheticRegistry(&buf, rows, 3); err != nil {
		t.Fatal(err)
	}
	j := backends(t)["disk"](t)
	ctx := context.Background()
	st, errs, err := j.LoadRegistry(ctx, adm, strings.NewReader(buf.String()), lists.FormatCSV, "a.csv")
	if err != nil || st.Inserted != rows || st.Rows != rows || len(errs) != 0 {
		t.Fatalf("LoadRegistry = %+v, %v, %v; want %d inserted", st, errs, err, rows)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	changed := 0
	for i := 1; i < len(lines); i += 97 {
		_, rest, _ := strings.Cut(lines[i], ";")
		lines[i] = "Перезагруженный;" + rest
		changed++
	}
	st, errs, err = j.LoadRegistry(ctx, adm, strings.NewReader(strings.Join(lines, "\n")), lists.FormatCSV, "b.csv")
	if err != nil || st.Updated != changed || st.Unchanged != rows-changed || st.Inserted != 0 || len(errs) != 0 {
		t.Fatalf("reload = %+v, %v, %v; want %d updated, %d unchanged", st, errs, err, changed, rows-changed)
	}
	got, err := j.SearchPersons(ctx, op1, PersonQuery{Surname: "перезагруженный"})
	if err != nil || len(got) != SearchLimit || got[0].Source != "b.csv" {
		t.Fatalf("search for the changed surname = %d persons (%v), want %d from b.csv", len(got), err, SearchLimit)
	}
	mustHealthy(t, j)
}

// cancelReader cancels a context once n bytes have been read through it.
type cancelReader struct {
	r      io.Reader
	n      int
	cancel context.CancelFunc
}

func (c *cancelReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.n -= n; c.n <= 0 {
		c.cancel()
	}
	return n, err
}

// TestRegistryLoadCancel cancels a load midway: it fails with the
// context's error, its stages stop (main_test checks for leaked
// goroutines) and the journal still loads afterwards.
func TestRegistryLoadCancel(t *testing.T) {
	var buf strings.Builder
	if err := lists.WriteSyntheticRegistry(&buf, 4*loadBatch, 4); err != nil {
		t.Fatal(err)
	}
	j := backends(t)["disk"](t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := &cancelReader{r: strings.NewReader(buf.String()), n: buf.Len() / 2, cancel: cancel}
	if _, _, err := j.LoadRegistry(ctx, adm, r, lists.FormatCSV, "a.csv"); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled LoadRegistry = %v, want context.Canceled", err)
	}
	st, _, err := j.LoadRegistry(context.Background(), adm, strings.NewReader(buf.String()), lists.FormatCSV, "a.csv")
	if err != nil || st.Rows != 4*loadBatch || st.Inserted+st.Unchanged != 4*loadBatch {
		t.Fatalf("load after a cancelled one = %+v, %v", st, err)
	}
	mustHealthy(t, j)
}
