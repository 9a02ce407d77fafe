package campaigns

import (
	"errors"
	"strings"
	"testing"
)

func TestBuiltinScripts(t *testing.T) {
	want := map[string]Kind{"screening": KindScreening, "followup": KindFollowUp, "informing": KindInforming}
	names := BuiltinScripts()
	if len(names) != len(want) {
		t.Fatalf("BuiltinScripts() = %v, want %d scripts", names, len(want))
	}
	for _, n := range names {
		s, err := BuiltinScript(n)
		if err != nil {
			t.Fatalf("BuiltinScript(%q): %v", n, err)
		}
		if s.Kind != want[n] || s.Title == "" || len(s.Refusals) == 0 || !s.AllowsResult(ResultReached) {
			t.Errorf("BuiltinScript(%q) = kind %v title %q refusals %d", n, s.Kind, s.Title, len(s.Refusals))
		}
	}
	inf, _ := BuiltinScript("informing")
	if inf.IVRPrompt == "" {
		t.Errorf("informing script has no IVR mode")
	}
	if _, err := BuiltinScript("nope"); !errors.Is(err, ErrBadScript) {
		t.Errorf("BuiltinScript(nope) = %v, want ErrBadScript", err)
	}
}

const goodScript = `kind = "screening"
title = "T"
intro = "Здравствуйте, {name}!"

[[question]]
id = "passed"
text = "Прошли?"
type = "yes_no"
required = true
next = { yes = "where", no = "plan" }

[[question]]
id = "where"
text = "Где?"
type = "choice"
options = [{ value = "own", text = "Своя" }, { value = "other", text = "Другая" }]
then = "end"

[[question]]
id = "plan"
text = "Когда?"
type = "date"
required = true

[[question]]
id = "count"
text = "Сколько?"
type = "number"
min = 0
max = 10

[[refusal]]
code = "no_time"
text = "Нет времени"
`

func TestParseScriptErrors(t *testing.T) {
	tests := []struct {
		name, edit, with string
		want             []string // substrings of the joined error, each with its line
	}{
		{"unknown answer type", `type = "date"`, `type = "datetime"`, []string{`bad.toml:22: question[2].type: "datetime": unknown answer type`}},
		{"unknown key", `required = true
next`, `requird = true
next`, []string{`bad.toml:9: question.requird: unknown key`}},
		{"branch to nowhere", `no = "plan"`, `no = "plann"`, []string{`bad.toml:10: question[0].next: "plann": no question has this id`}},
		{"branch backwards", `then = "end"`, `then = "passed"`, []string{`bad.toml:17: question[1].then: "passed" is not after this question`}},
		{"branch on a value that is not an answer", `yes = "where"`, `maybe = "where"`, []string{`question[0].next.maybe: "maybe" is not an answer`}},
		{"duplicate id", `id = "count"`, `id = "plan"`, []string{`bad.toml:26: question[3].id: "plan" is also the id of question[2]`}},
		{"bad kind", `kind = "screening"`, `kind = "survey"`, []string{`bad.toml:1: kind: "survey"`}},
		{"bounds reversed", `max = 10`, `max = -1`, []string{`bad.toml:29: question[3].min: 0 is above max -1`}},
		{"syntax", `title = "T"`, `title = "T`, []string{`bad.toml:2:`}},
		{"IVR without keys", `intro = "Здравствуйте, {name}!"`, `intro = "x"
ivr_prompt = "inform"`, []string{"question[0].dtmf: an IVR script needs a key for yes and for no", "question[2].type: date cannot be answered by keys", "question[0].prompt: an IVR script needs"}},
		{"unknown result", `title = "T"`, `title = "T"
results = ["reached", "hung_up"]`, []string{`bad.toml:3: results: "hung_up" is not a result`}},
		{"dialer result", `title = "T"`, `title = "T"
results = ["busy"]`, []string{`results: "busy" is set by the dialer`}},
	}
	if _, err := ParseScript("good.toml", []byte(goodScript)); err != nil {
		t.Fatalf("ParseScript(good) = %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.Replace(goodScript, tt.edit, tt.with, 1)
			if src == goodScript {
				t.Fatalf("edit %q not found", tt.edit)
			}
			s, err := ParseScript("bad.toml", []byte(src))
			if err == nil || !errors.Is(err, ErrBadScript) {
				t.Fatalf("ParseScript = %v, %v; want ErrBadScript", s, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("ParseScript error =\n%v\nwant it to contain %q", err, w)
				}
			}
		})
	}
}

func TestCheckAnswers(t *testing.T) {
	s, err := ParseScript("good.toml", []byte(goodScript))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		in       map[string]string
		complete bool
		want     map[string]string
		err      string
	}{
		{"yes branch", map[string]string{"passed": "да", "where": "Своя"}, true, map[string]string{"passed": "yes", "where": "own"}, ""},
		{"no branch", map[string]string{"passed": "no", "plan": "17.05.2026", "count": "3,0"}, true, map[string]string{"passed": "no", "plan": "2026-05-17", "count": "3"}, ""},
		{"skipped question answered", map[string]string{"passed": "yes", "plan": "2026-05-17"}, true, nil, "plan: is not asked"},
		{"required missing", map[string]string{"passed": "no"}, true, nil, "plan: is required"},
		{"partial is fine when not complete", map[string]string{"passed": "no"}, false, map[string]string{"passed": "no"}, ""},
		{"31 February", map[string]string{"passed": "no", "plan": "31.02.2026"}, true, nil, `plan: "31.02.2026" is not a real date`},
		{"number out of range", map[string]string{"passed": "no", "plan": "2026-01-01", "count": "11"}, true, nil, "count: 11 is out of range [0, 10]"},
		{"unknown question", map[string]string{"passed": "yes", "x": "1"}, false, nil, "x: no such question"},
		{"bad choice", map[string]string{"passed": "yes", "where": "moon"}, false, nil, `where: "moon": want one of own, other`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.CheckAnswers(tt.in, tt.complete)
			if tt.err != "" {
				if !errors.Is(err, ErrBadAnswer) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("CheckAnswers(%v) = %v, %v; want error with %q", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || len(got) != len(tt.want) {
				t.Fatalf("CheckAnswers(%v) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("CheckAnswers(%v)[%s] = %q, want %q", tt.in, k, got[k], v)
				}
			}
		})
	}
}

func TestKeyAnswer(t *testing.T) {
	s, err := BuiltinScript("informing")
	if err != nil {
		t.Fatal(err)
	}
	q, _ := s.Question("passed")
	for keys, want := range map[string]string{"1": "yes", "2": "no", "3": ""} {
		got, ok := q.KeyAnswer(keys)
		if got != want || ok != (want != "") {
			t.Errorf("KeyAnswer(%q) = %q, %v; want %q", keys, got, ok, want)
		}
	}
	if n := s.NextAfter("passed", "yes"); n != End {
		t.Errorf("NextAfter(passed, yes) = %q, want end", n)
	}
	if n := s.NextAfter("passed", "no"); n != "callback" {
		t.Errorf("NextAfter(passed, no) = %q, want callback", n)
	}
}

func TestFill(t *testing.T) {
	got := Fill("Здравствуйте, {name} {patronymic}! {unknown} {", map[string]string{"name": "Анна", "patronymic": "Ивановна"})
	if want := "Здравствуйте, Анна Ивановна! {unknown} {"; got != want {
		t.Errorf("Fill = %q, want %q", got, want)
	}
}

func TestResultNames(t *testing.T) {
	for _, r := range Results {
		p, err := ParseResult(r.String())
		if err != nil || p != r {
			t.Errorf("ParseResult(%q) = %v, %v", r.String(), p, err)
		}
		p, err = ParseResult(r.Russian())
		if err != nil || p != r {
			t.Errorf("ParseResult(%q) = %v, %v", r.Russian(), p, err)
		}
	}
	if _, err := ParseResult("hung_up"); !errors.Is(err, ErrBadName) {
		t.Errorf("ParseResult(hung_up) = %v, want ErrBadName", err)
	}
}

// FuzzParseScript: any input gives a script or ScriptErrors, never a panic,
// and an accepted script's branches only go forward.
func FuzzParseScript(f *testing.F) {
	f.Add([]byte(goodScript))
	for _, n := range BuiltinScripts() {
		b, _ := BuiltinScriptSource(n)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseScript("fuzz.toml", b)
		if err != nil {
			if !errors.Is(err, ErrBadScript) {
				t.Fatalf("error %v does not wrap ErrBadScript", err)
			}
			return
		}
		steps := 0
		for id := s.First(); id != End; id = s.NextAfter(id, "") {
			if steps++; steps > len(s.Questions)+1 {
				t.Fatalf("branches loop")
			}
		}
	})
}
