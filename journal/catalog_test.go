package journal

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func loadDefaultCatalog(t *testing.T, j *Journal) {
	t.Helper()
	topics, scripts, err := DefaultCatalog()
	if err != nil {
		t.Fatal(err)
	}
	if err := j.LoadCatalog(context.Background(), adm, topics, scripts); err != nil {
		t.Fatal(err)
	}
}

func TestDefaultCatalog(t *testing.T) {
	topics, scripts, err := DefaultCatalog()
	if err != nil {
		t.Fatalf("DefaultCatalog() = %v", err)
	}
	if len(topics) < 30 || len(scripts) < 30 {
		t.Fatalf("default catalog has %d topics, %d scripts; want ≥ 30 each", len(topics), len(scripts))
	}
	perKind := map[Kind]int{}
	for _, tp := range topics {
		perKind[tp.Kind]++
	}
	for k := KindComplaint; k <= KindGratitude; k++ {
		if perKind[k] == 0 {
			t.Errorf("no topics of kind %s", k)
		}
	}
	for _, s := range scripts {
		if !strings.ContainsAny(s.Text, "абвгдежзийклмнопрстуфхцчшщыэюя") || len([]rune(s.Text)) < 100 {
			t.Errorf("script %s text is not a Russian answer: %q", s.ID, s.Text)
		}
	}
}

func TestCatalogSearch(t *testing.T) {
	j, _ := Open(Options{InMemory: true})
	defer j.Close()
	ctx := context.Background()
	loadDefaultCatalog(t, j)
	tests := []struct {
		query     string
		kind      Kind
		topTopic  string
		topScript string
	}{
		{"замена полиса при смене фамилии", KindUnknown, "cons-policy-replace", "s-policy-replace"},
		{"в поликлинике взяли деньги за анализы", KindComplaint, "compl-paid-services", "s-paid-services"},
		{"пройти диспансеризацию", KindConsultation, "cons-screening", "s-screening"},
		{"диспан", KindComplaint, "compl-screening-fake", ""},
		{"сколько ждать МРТ", KindConsultation, "cons-waiting-times", "s-waiting-times"},
		{"страховую компанию поменять", KindConsultation, "cons-insurer-change", ""},
		{"полис новорождённому", KindUnknown, "cons-newborn", "s-newborn"},
		{"платные услуги", KindComplaint, "compl-paid-services", "s-paid-services"},
	}
	for _, tt := range tests {
		h, err := j.SearchCatalog(ctx, tt.query, tt.kind)
		if err != nil {
			t.Fatalf("SearchCatalog(%q) = %v", tt.query, err)
		}
		if len(h.Topics) == 0 || h.Topics[0].ID != tt.topTopic {
			t.Errorf("SearchCatalog(%q, %s) topics = %v, want %s first", tt.query, tt.kind, ids(h.Topics), tt.topTopic)
		}
		if tt.topScript != "" && (len(h.Scripts) == 0 || h.Scripts[0].ID != tt.topScript) {
			t.Errorf("SearchCatalog(%q, %s) scripts = %v, want %s first", tt.query, tt.kind, scriptIDs(h.Scripts), tt.topScript)
		}
		for _, tp := range h.Topics {
			if tt.kind != KindUnknown && tp.Kind != tt.kind {
				t.Errorf("SearchCatalog(%q, %s) returned topic %s of kind %s", tt.query, tt.kind, tp.ID, tp.Kind)
			}
		}
	}
	if _, err := j.SearchCatalog(ctx, "и в на", KindUnknown); !errors.Is(err, ErrInvalid) {
		t.Errorf("SearchCatalog(stop words) = %v, want ErrInvalid", err)
	}

	// Topics per kind, scripts per topic, recommended operators.
	tl, _ := j.Topics(ctx, KindGratitude)
	if len(tl) != 2 {
		t.Errorf("Topics(gratitude) = %v, want 2", ids(tl))
	}
	retired := tl[0]
	retired.Retired = true
	if err := j.PutTopic(ctx, adm, retired); err != nil {
		t.Fatal(err)
	}
	if tl, _ := j.Topics(ctx, KindGratitude); len(tl) != 1 {
		t.Errorf("Topics(gratitude) after retiring one = %v, want 1", ids(tl))
	}
	if err := j.PutTopic(ctx, op1, retired); !errors.Is(err, ErrDenied) {
		t.Errorf("PutTopic by operator = %v, want ErrDenied", err)
	}
	if _, err := j.AddAccount(ctx, adm, NewAccount{Login: "l2.polis", DisplayName: "Смирнова Ольга", Roles: []Role{RoleOperatorL2}, Extension: "2100"}); err != nil {
		t.Fatal(err)
	}
	s := Script{ID: "s-policy-issue", TopicID: "cons-policy-issue", Title: "Как оформить полис ОМС", Text: "Новый текст про полис.", Recommended: []string{"l2.polis", "ghost"}}
	if err := j.PutScript(ctx, Actor{"sup", RoleSupervisor}, s); err != nil {
		t.Fatal(err)
	}
	sc, _ := j.Scripts(ctx, "cons-policy-issue")
	if len(sc) != 1 || sc[0].Text != "Новый текст про полис." {
		t.Fatalf("Scripts after PutScript = %+v", sc)
	}
	rec, err := j.Recommended(ctx, sc[0])
	if err != nil || len(rec) != 1 || rec[0].Extension != "2100" {
		t.Errorf("Recommended = %+v, %v; want l2.polis only", rec, err)
	}
	if h, _ := j.SearchCatalog(ctx, "паспорт СНИЛС Госуслуги оформить", KindConsultation); len(h.Scripts) > 0 && h.Scripts[0].ID == "s-policy-issue" {
		t.Errorf("edited script still found by its old words first")
	}
	if err := j.PutScript(ctx, op1, s); !errors.Is(err, ErrDenied) {
		t.Errorf("PutScript by operator = %v, want ErrDenied", err)
	}
	if err := j.PutScript(ctx, adm, Script{ID: "x", TopicID: "nope", Title: "x", Text: "x"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("PutScript with unknown topic = %v, want ErrInvalid", err)
	}

	// With a catalog loaded, appeals must use its topics of their kind.
	a := card("", "")
	a.Topic = "compl-quality"
	if err := j.CreateAppeal(ctx, op1, a); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "belongs to complaint") {
		t.Errorf("consultation with a complaint topic = %v", err)
	}
	a.Topic = "no-such-topic"
	if err := j.CreateAppeal(ctx, op1, a); !errors.Is(err, ErrInvalid) {
		t.Errorf("appeal with unknown topic = %v", err)
	}
	a.Topic = "cons-policy-issue"
	if err := j.CreateAppeal(ctx, op1, a); err != nil {
		t.Errorf("appeal with a catalog topic = %v", err)
	}
	mustHealthy(t, j)
}

func TestReadCatalogErrors(t *testing.T) {
	write := func(topics, scripts string) string {
		d := t.TempDir()
		os.WriteFile(filepath.Join(d, "topics.json"), []byte(topics), 0o600)
		os.WriteFile(filepath.Join(d, "scripts.json"), []byte(scripts), 0o600)
		return d
	}
	tp := `[{"id":"a","kind":"complaint","title":"A"}]`
	tests := []struct{ topics, scripts, want string }{
		{`[{"id":"a","kind":"rant","title":"A"}]`, `[]`, "unknown appeal kind"},
		{`[{"id":"a","kind":"complaint","title":""}]`, `[]`, "title: is empty"},
		{tp[:len(tp)-1] + `,{"id":"a","kind":"complaint","title":"B"}]`, `[]`, `"a" twice`},
		{tp, `[{"id":"s","topic":"b","title":"S","text":"T"}]`, `"b" is not in topics.json`},
		{tp, `[{"id":"s","topic":"a","title":"S","text":""}]`, "text: is empty"},
		{tp, `[{"id":"s","topic":"a","title":"S","text":"T","colour":"red"}]`, "unknown field"},
	}
	for _, tt := range tests {
		_, _, err := ReadCatalog(os.DirFS(write(tt.topics, tt.scripts)))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ReadCatalog(%s, %s) = %v, want %q", tt.topics, tt.scripts, err, tt.want)
		}
	}
}

func ids(ts []Topic) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.ID)
	}
	return out
}

func scriptIDs(ss []Script) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.ID)
	}
	return out
}

// TestCatalogFindsEveryEntryByItsTitle searches for every topic and script
// by its own title: it must come back among the first three.
func TestCatalogFindsEveryEntryByItsTitle(t *testing.T) {
	j, _ := Open(Options{InMemory: true})
	defer j.Close()
	ctx := context.Background()
	loadDefaultCatalog(t, j)
	topics, scripts, _ := DefaultCatalog()
	for _, tp := range topics {
		h, err := j.SearchCatalog(ctx, tp.Title, tp.Kind)
		if err != nil || !slices.ContainsFunc(h.Topics[:min(3, len(h.Topics))], func(x Topic) bool { return x.ID == tp.ID }) {
			t.Errorf("SearchCatalog(%q, %s) topics = %v, want %s in the first three", tp.Title, tp.Kind, ids(h.Topics), tp.ID)
		}
	}
	for _, s := range scripts {
		h, err := j.SearchCatalog(ctx, s.Title, KindUnknown)
		if err != nil || !slices.ContainsFunc(h.Scripts[:min(3, len(h.Scripts))], func(x Script) bool { return x.ID == s.ID }) {
			t.Errorf("SearchCatalog(%q) scripts = %v, want %s in the first three", s.Title, scriptIDs(h.Scripts), s.ID)
		}
	}
}
