package campaigns

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Survey scripts.
//
// A script is a TOML file: the campaign's kind and title, what the
// operator says first, the questions with typed answers, optional
// branching, the DTMF keys of IVR mode, the refusal reasons and the
// results an operator may save. ParseScript checks it whole and reports
// every problem with its line; see scripts/*.toml for the shipped ones.

// Kind is a campaign's kind, from the seed's survey journals (manual 5.3)
// and informing module (7.1).
type Kind int

// Campaign kinds.
const (
	// KindUnknown is the zero value; a campaign must have a kind.
	KindUnknown Kind = iota
	// KindScreening invites to the preventive medical examination
	// (диспансеризация).
	KindScreening
	// KindFollowUp surveys persons under dispensary observation
	// (диспансерный учёт).
	KindFollowUp
	// KindInforming informs persons as the ЕИР263 module does (оповещение).
	KindInforming
)

var kindNames = [...]string{"unknown", "screening", "followup", "informing"}
var kindRussian = [...]string{"", "Диспансеризация", "Диспансерный учёт", "Информирование (ЕИР263)"}

// String returns the kind's code.
func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return "unknown"
	}
	return kindNames[k]
}

// Russian returns the kind's name for staff.
func (k Kind) Russian() string {
	if k <= 0 || int(k) >= len(kindRussian) {
		return k.String()
	}
	return kindRussian[k]
}

// MarshalText writes the code.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText parses a code.
func (k *Kind) UnmarshalText(b []byte) error {
	v, err := ParseKind(string(b))
	*k = v
	return err
}

// ParseKind parses a kind code as printed by String.
func ParseKind(s string) (Kind, error) {
	i, err := parseName(kindNames[:], s, "campaign kind")
	return Kind(i), err
}

// AnswerType is the type of a question's answer.
type AnswerType int

// Answer types.
const (
	// AnswerUnknown is the zero value; every question has a type.
	AnswerUnknown AnswerType = iota
	// AnswerYesNo is "yes" or "no".
	AnswerYesNo
	// AnswerChoice is one of the question's options.
	AnswerChoice
	// AnswerDate is a calendar date, stored YYYY-MM-DD.
	AnswerDate
	// AnswerNumber is a number within the question's bounds.
	AnswerNumber
	// AnswerText is free text.
	AnswerText
)

var answerTypeNames = [...]string{"unknown", "yes_no", "choice", "date", "number", "text"}

// String returns the type's name as written in scripts.
func (t AnswerType) String() string {
	if t < 0 || int(t) >= len(answerTypeNames) {
		return "unknown"
	}
	return answerTypeNames[t]
}

// MarshalText writes the name.
func (t AnswerType) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText parses a name.
func (t *AnswerType) UnmarshalText(b []byte) error {
	v, err := ParseAnswerType(string(b))
	*t = v
	return err
}

// ParseAnswerType parses a type name as printed by String.
func ParseAnswerType(s string) (AnswerType, error) {
	i, err := parseName(answerTypeNames[:], s, "answer type")
	return AnswerType(i), err
}

// End is the branch target that ends the survey.
const End = "end"

// Option is one choice of a choice question.
type Option struct {
	Value string `json:"value"`
	Text  string `json:"text"`
	// DTMF is the key that picks it in IVR mode ("" when none).
	DTMF string `json:"dtmf,omitempty"`
}

// Question is one question of a script.
type Question struct {
	ID   string     `json:"id"`
	Text string     `json:"text"`
	Type AnswerType `json:"type"`
	// Required questions must be answered when the result is reached.
	Required bool     `json:"required,omitempty"`
	Options  []Option `json:"options,omitempty"`
	// Min and Max bound a number answer (nil: unbounded).
	Min *float64 `json:"min,omitempty"`
	Max *float64 `json:"max,omitempty"`
	// DTMF maps a key to a yes/no answer in IVR mode ("1" → "yes").
	DTMF map[string]string `json:"dtmf,omitempty"`
	// DTMFDigits lets an IVR caller key a number, ended by #.
	DTMFDigits bool `json:"dtmf_digits,omitempty"`
	// Prompt is the audio prompt that asks the question in IVR mode.
	Prompt string `json:"prompt,omitempty"`
	// Next maps an answer value to the question asked next (or End);
	// answers not listed go to Then.
	Next map[string]string `json:"next,omitempty"`
	// Then is the question after this one when Next does not decide;
	// empty means the following question in the file (End after the last).
	Then string `json:"then,omitempty"`
	// Line is the line of the question in its file.
	Line int `json:"-"`
}

// Refusal is a reason a person gives for refusing to answer.
type Refusal struct {
	Code string `json:"code"`
	Text string `json:"text"`
}

// Script is a parsed, checked survey script.
type Script struct {
	// Name is the script's file name without .toml.
	Name  string `json:"name"`
	Kind  Kind   `json:"kind"`
	Title string `json:"title"`
	// Intro is what the operator says first; placeholders are filled from
	// the contact (see Fill).
	Intro string `json:"intro"`
	// Closing is what the operator says last.
	Closing string `json:"closing,omitempty"`
	// IVRPrompt is the message played to whoever answers in agentless
	// mode; empty means the script has no IVR mode.
	IVRPrompt string `json:"ivr_prompt,omitempty"`
	// IVRThanks is played after the last IVR answer.
	IVRThanks string     `json:"ivr_thanks,omitempty"`
	Questions []Question `json:"questions"`
	Refusals  []Refusal  `json:"refusals"`
	// Results are the results an operator may save (all operator results
	// when the file lists none).
	Results []Result `json:"results"`
}

// ErrBadScript is wrapped by every *ScriptError.
var ErrBadScript = errors.New("bad survey script")

// ScriptError is one problem of a script file, with its line.
type ScriptError struct {
	File string
	Line int
	// Key is the offending key, e.g. "question[2].type".
	Key string
	Msg string
}

func (e *ScriptError) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.Key == "" {
		return fmt.Sprintf("%s: %s", loc, e.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", loc, e.Key, e.Msg)
}

// Unwrap returns ErrBadScript.
func (e *ScriptError) Unwrap() error { return ErrBadScript }

// rawScript is the file as TOML decodes it, before checks.
type rawScript struct {
	Kind      string        `toml:"kind"`
	Title     string        `toml:"title"`
	Intro     string        `toml:"intro"`
	Closing   string        `toml:"closing"`
	IVRPrompt string        `toml:"ivr_prompt"`
	IVRThanks string        `toml:"ivr_thanks"`
	Results   []string      `toml:"results"`
	Questions []rawQuestion `toml:"question"`
	Refusals  []Refusal     `toml:"refusal"`
}

type rawQuestion struct {
	ID         string            `toml:"id"`
	Text       string            `toml:"text"`
	Type       string            `toml:"type"`
	Required   bool              `toml:"required"`
	Options    []rawOption       `toml:"options"`
	Min        *float64          `toml:"min"`
	Max        *float64          `toml:"max"`
	DTMF       map[string]string `toml:"dtmf"`
	DTMFDigits bool              `toml:"dtmf_digits"`
	Prompt     string            `toml:"prompt"`
	Next       map[string]string `toml:"next"`
	Then       string            `toml:"then"`
}

type rawOption struct {
	Value string `toml:"value"`
	Text  string `toml:"text"`
	DTMF  string `toml:"dtmf"`
}

var (
	idRE     = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	promptRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
)

// ParseScript parses and checks a script file. name is used in errors
// and, without ".toml", as the script's name. The error joins every
// problem found, each a *ScriptError naming the line.
func ParseScript(name string, src []byte) (*Script, error) {
	loc := newLocator(src)
	var errs []error
	bad := func(line int, key, format string, a ...any) {
		errs = append(errs, &ScriptError{File: name, Line: line, Key: key, Msg: fmt.Sprintf(format, a...)})
	}
	var raw rawScript
	md, err := toml.NewDecoder(bytes.NewReader(src)).Decode(&raw)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, &ScriptError{File: name, Line: pe.Position.Line, Msg: pe.Message}
		}
		return nil, &ScriptError{File: name, Msg: err.Error()}
	}
	for _, k := range md.Undecoded() {
		table, idx, key := loc.split(k)
		bad(loc.line(table, idx, key), k.String(), "unknown key")
	}
	s := &Script{Name: strings.TrimSuffix(path.Base(name), ".toml"), Title: strings.TrimSpace(raw.Title),
		Intro: strings.TrimSpace(raw.Intro), Closing: strings.TrimSpace(raw.Closing),
		IVRPrompt: raw.IVRPrompt, IVRThanks: raw.IVRThanks}
	if s.Kind, err = ParseKind(raw.Kind); err != nil {
		bad(loc.line("", 0, "kind"), "kind", "%q: want screening, followup or informing", raw.Kind)
	}
	if s.Title == "" {
		bad(loc.line("", 0, "title"), "title", "is empty")
	}
	if s.Intro == "" {
		bad(loc.line("", 0, "intro"), "intro", "is empty: say what the operator says first")
	}
	for _, p := range []struct{ key, v string }{{"ivr_prompt", s.IVRPrompt}, {"ivr_thanks", s.IVRThanks}} {
		if p.v != "" && !promptRE.MatchString(p.v) {
			bad(loc.line("", 0, p.key), p.key, "%q: prompt names are lowercase letters, digits, - and _", p.v)
		}
	}
	if s.IVRThanks != "" && s.IVRPrompt == "" {
		bad(loc.line("", 0, "ivr_thanks"), "ivr_thanks", "set without ivr_prompt")
	}
	for _, r := range raw.Results {
		res, err := ParseResult(r)
		switch {
		case err != nil:
			bad(loc.line("", 0, "results"), "results", "%q is not a result (want one of %s)", r, operatorResults())
		case !res.ByOperator():
			bad(loc.line("", 0, "results"), "results", "%q is set by the dialer, not by an operator", r)
		case slices.Contains(s.Results, res):
			bad(loc.line("", 0, "results"), "results", "%q listed twice", r)
		default:
			s.Results = append(s.Results, res)
		}
	}
	if len(raw.Results) == 0 {
		for _, r := range Results {
			if r.ByOperator() {
				s.Results = append(s.Results, r)
			}
		}
	}
	if slices.Contains(s.Results, ResultRefused) && len(raw.Refusals) == 0 {
		bad(0, "refusal", "the script allows the result refused but lists no [[refusal]] reasons")
	}
	codes := map[string]bool{}
	for i, r := range raw.Refusals {
		key := fmt.Sprintf("refusal[%d]", i)
		line := loc.line("refusal", i, "code")
		switch {
		case !idRE.MatchString(r.Code):
			bad(line, key+".code", "%q: codes are lowercase latin letters, digits and _", r.Code)
		case codes[r.Code]:
			bad(line, key+".code", "%q listed twice", r.Code)
		}
		codes[r.Code] = true
		if strings.TrimSpace(r.Text) == "" {
			bad(loc.line("refusal", i, "text"), key+".text", "is empty")
		}
		s.Refusals = append(s.Refusals, Refusal{Code: r.Code, Text: strings.TrimSpace(r.Text)})
	}

	if len(raw.Questions) == 0 && s.Kind != KindInforming {
		bad(0, "question", "a survey needs at least one [[question]]")
	}
	ids := map[string]int{}
	for i, rq := range raw.Questions {
		if _, dup := ids[rq.ID]; !dup && idRE.MatchString(rq.ID) && rq.ID != End {
			ids[rq.ID] = i
		}
	}
	for i, rq := range raw.Questions {
		s.Questions = append(s.Questions, parseQuestion(i, rq, ids, loc, bad))
	}
	if s.IVRPrompt != "" {
		for i, q := range s.Questions {
			key := fmt.Sprintf("question[%d]", i)
			switch {
			case q.Type == AnswerYesNo && len(q.DTMF) < 2:
				bad(loc.line("question", i, "dtmf"), key+".dtmf", "an IVR script needs a key for yes and for no")
			case q.Type == AnswerChoice && slices.ContainsFunc(q.Options, func(o Option) bool { return o.DTMF == "" }):
				bad(loc.line("question", i, "options"), key+".options", "an IVR script needs a dtmf key for every option")
			case q.Type == AnswerNumber && !q.DTMFDigits:
				bad(loc.line("question", i, "type"), key+".dtmf_digits", "an IVR script asks numbers by keys: set dtmf_digits = true")
			case q.Type == AnswerDate || q.Type == AnswerText:
				bad(loc.line("question", i, "type"), key+".type", "%s cannot be answered by keys in an IVR script", q.Type)
			}
			if q.Prompt == "" {
				bad(q.Line, key+".prompt", "an IVR script needs the audio prompt of every question")
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

func operatorResults() string {
	var n []string
	for _, r := range Results {
		if r.ByOperator() {
			n = append(n, r.String())
		}
	}
	return strings.Join(n, ", ")
}

// parseQuestion checks question i; ids maps the valid question ids to
// their index.
func parseQuestion(i int, rq rawQuestion, ids map[string]int, loc *locator, bad func(int, string, string, ...any)) Question {
	key := fmt.Sprintf("question[%d]", i)
	line := func(k string) int { return loc.line("question", i, k) }
	q := Question{ID: rq.ID, Text: strings.TrimSpace(rq.Text), Required: rq.Required, Min: rq.Min, Max: rq.Max,
		DTMFDigits: rq.DTMFDigits, Prompt: rq.Prompt, Then: rq.Then, Line: loc.line("question", i, "")}
	switch {
	case !idRE.MatchString(rq.ID) || rq.ID == End:
		bad(line("id"), key+".id", "%q: ids are lowercase latin letters, digits and _, not %q", rq.ID, End)
	case ids[rq.ID] != i:
		bad(line("id"), key+".id", "%q is also the id of question[%d]", rq.ID, ids[rq.ID])
	}
	if q.Text == "" {
		bad(line("text"), key+".text", "is empty")
	}
	t, err := ParseAnswerType(rq.Type)
	if err != nil {
		bad(line("type"), key+".type", "%q: unknown answer type (want yes_no, choice, date, number or text)", rq.Type)
	}
	q.Type = t
	if rq.Prompt != "" && !promptRE.MatchString(rq.Prompt) {
		bad(line("prompt"), key+".prompt", "%q: prompt names are lowercase letters, digits, - and _", rq.Prompt)
	}
	values := map[string]bool{}
	switch t {
	case AnswerYesNo:
		values["yes"], values["no"] = true, true
	case AnswerChoice:
		if len(rq.Options) < 2 {
			bad(line("options"), key+".options", "a choice question needs at least two options")
		}
		keys := map[string]bool{}
		for j, o := range rq.Options {
			ok := fmt.Sprintf("%s.options[%d]", key, j)
			switch {
			case !idRE.MatchString(o.Value):
				bad(line("options"), ok+".value", "%q: values are lowercase latin letters, digits and _", o.Value)
			case values[o.Value]:
				bad(line("options"), ok+".value", "%q listed twice", o.Value)
			}
			values[o.Value] = true
			if strings.TrimSpace(o.Text) == "" {
				bad(line("options"), ok+".text", "is empty")
			}
			if o.DTMF != "" {
				if !validDigit(o.DTMF) {
					bad(line("options"), ok+".dtmf", "%q is not one DTMF key (0-9, *, #)", o.DTMF)
				} else if keys[o.DTMF] {
					bad(line("options"), ok+".dtmf", "key %q picks two options", o.DTMF)
				}
				keys[o.DTMF] = true
			}
			q.Options = append(q.Options, Option{Value: o.Value, Text: strings.TrimSpace(o.Text), DTMF: o.DTMF})
		}
	case AnswerNumber:
		if q.Min != nil && q.Max != nil && *q.Min > *q.Max {
			bad(line("min"), key+".min", "%v is above max %v", *q.Min, *q.Max)
		}
	}
	if t != AnswerChoice && len(rq.Options) > 0 {
		bad(line("options"), key+".options", "only a choice question has options")
	}
	if t != AnswerNumber && (rq.Min != nil || rq.Max != nil) {
		bad(line("min"), key+".min", "only a number question has bounds")
	}
	if t != AnswerNumber && rq.DTMFDigits {
		bad(line("dtmf_digits"), key+".dtmf_digits", "only a number question is keyed digit by digit")
	}
	if len(rq.DTMF) > 0 {
		if t != AnswerYesNo {
			bad(line("dtmf"), key+".dtmf", "only a yes_no question maps keys here (a choice question sets dtmf per option)")
		}
		q.DTMF = map[string]string{}
		for _, d := range sortedKeys(rq.DTMF) {
			v := rq.DTMF[d]
			switch {
			case !validDigit(d):
				bad(line("dtmf"), key+".dtmf", "%q is not one DTMF key (0-9, *, #)", d)
			case v != "yes" && v != "no":
				bad(line("dtmf"), key+".dtmf."+d, "%q: want yes or no", v)
			}
			q.DTMF[d] = v
		}
	}
	target := func(k, to string) {
		if to == End {
			return
		}
		j, ok := ids[to]
		switch {
		case !ok:
			bad(line(k), key+"."+k, "%q: no question has this id (or %q)", to, End)
		case j <= i:
			bad(line(k), key+"."+k, "%q is not after this question: branches go forward only", to)
		}
	}
	if len(rq.Next) > 0 {
		if t != AnswerYesNo && t != AnswerChoice {
			bad(line("next"), key+".next", "only yes_no and choice questions branch by answer (use then)")
		}
		q.Next = map[string]string{}
		for _, v := range sortedKeys(rq.Next) {
			if len(values) > 0 && !values[v] {
				bad(line("next"), key+".next."+v, "%q is not an answer of this question", v)
			}
			target("next", rq.Next[v])
			q.Next[v] = rq.Next[v]
		}
	}
	if rq.Then != "" {
		target("then", rq.Then)
	}
	return q
}

func validDigit(d string) bool { return len(d) == 1 && strings.Contains("0123456789*#", d) }

func sortedKeys(m map[string]string) []string {
	k := make([]string, 0, len(m))
	for x := range m {
		k = append(k, x)
	}
	sort.Strings(k)
	return k
}

// Question returns the question with that id.
func (s *Script) Question(id string) (*Question, bool) {
	for i := range s.Questions {
		if s.Questions[i].ID == id {
			return &s.Questions[i], true
		}
	}
	return nil, false
}

// First returns the id of the first question, End when there is none.
func (s *Script) First() string {
	if len(s.Questions) == 0 {
		return End
	}
	return s.Questions[0].ID
}

// NextAfter returns the id of the question asked after question id was
// answered with value (End when the survey is over).
func (s *Script) NextAfter(id, value string) string {
	for i, q := range s.Questions {
		if q.ID != id {
			continue
		}
		if to, ok := q.Next[value]; ok {
			return to
		}
		if q.Then != "" {
			return q.Then
		}
		if i+1 < len(s.Questions) {
			return s.Questions[i+1].ID
		}
		return End
	}
	return End
}

// RefusalText returns the text of a refusal reason code.
func (s *Script) RefusalText(code string) (string, bool) {
	for _, r := range s.Refusals {
		if r.Code == code {
			return r.Text, true
		}
	}
	return "", false
}

// AllowsResult reports whether an operator may save r with this script.
func (s *Script) AllowsResult(r Result) bool { return slices.Contains(s.Results, r) }

// ErrBadAnswer is wrapped by errors about survey answers.
var ErrBadAnswer = errors.New("bad answer")

// AnswerError names the question whose answer is wrong and why.
type AnswerError struct {
	Question string
	Msg      string
}

func (e *AnswerError) Error() string { return e.Question + ": " + e.Msg }

// Unwrap returns ErrBadAnswer.
func (e *AnswerError) Unwrap() error { return ErrBadAnswer }

// maxTextAnswer bounds a free-text answer, in characters.
const maxTextAnswer = 2000

// CheckAnswers validates answers (question id → value as typed) against
// the script and returns them normalized (yes/no, option values, dates as
// YYYY-MM-DD, numbers in Go syntax, trimmed text). The answers must follow
// the script's branches from the first question: an answer to a question
// the branches skip is an error. When complete is true (the result is
// reached) every required question on the path must be answered.
func (s *Script) CheckAnswers(answers map[string]string, complete bool) (map[string]string, error) {
	out := make(map[string]string, len(answers))
	var errs []error
	for id := range answers {
		if _, ok := s.Question(id); !ok {
			errs = append(errs, &AnswerError{id, "no such question in script " + s.Name})
		}
	}
	onPath := map[string]bool{}
	for id := s.First(); id != End; {
		q, _ := s.Question(id)
		onPath[id] = true
		raw, answered := answers[id]
		raw = strings.TrimSpace(raw)
		if !answered || raw == "" {
			if complete && q.Required {
				errs = append(errs, &AnswerError{id, "is required"})
			}
			if q.Then != "" || len(q.Next) == 0 {
				id = s.NextAfter(id, "")
				continue
			}
			break // the branch depends on the missing answer
		}
		v, err := q.Normalize(raw)
		if err != nil {
			errs = append(errs, err)
			break
		}
		out[id] = v
		id = s.NextAfter(id, v)
	}
	for _, id := range sortedKeys(answers) {
		if _, ok := s.Question(id); ok && !onPath[id] && strings.TrimSpace(answers[id]) != "" {
			errs = append(errs, &AnswerError{id, "is not asked after the answers given before it"})
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// Normalize checks one answer to q and returns its stored form.
func (q *Question) Normalize(v string) (string, error) {
	v = strings.TrimSpace(v)
	bad := func(format string, a ...any) (string, error) {
		return "", &AnswerError{q.ID, fmt.Sprintf(format, a...)}
	}
	switch q.Type {
	case AnswerYesNo:
		switch strings.ToLower(v) {
		case "yes", "да", "true":
			return "yes", nil
		case "no", "нет", "false":
			return "no", nil
		}
		return bad("%q: want yes or no", v)
	case AnswerChoice:
		for _, o := range q.Options {
			if o.Value == v || o.Text == v {
				return o.Value, nil
			}
		}
		vals := make([]string, len(q.Options))
		for i, o := range q.Options {
			vals[i] = o.Value
		}
		return bad("%q: want one of %s", v, strings.Join(vals, ", "))
	case AnswerDate:
		for _, layout := range []string{time.DateOnly, "02.01.2006", "2.1.2006"} {
			if t, err := time.Parse(layout, v); err == nil {
				return t.Format(time.DateOnly), nil
			}
		}
		return bad("%q is not a real date (want DD.MM.YYYY or YYYY-MM-DD)", v)
	case AnswerNumber:
		f, err := strconv.ParseFloat(strings.Replace(v, ",", ".", 1), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return bad("%q is not a number", v)
		}
		if q.Min != nil && f < *q.Min || q.Max != nil && f > *q.Max {
			return bad("%v is out of range %s", f, q.bounds())
		}
		return strconv.FormatFloat(f, 'f', -1, 64), nil
	case AnswerText:
		if n := len([]rune(v)); n > maxTextAnswer {
			return bad("%d characters: at most %d", n, maxTextAnswer)
		}
		return v, nil
	}
	return bad("question of unknown type")
}

func (q *Question) bounds() string {
	lo, hi := "-∞", "+∞"
	if q.Min != nil {
		lo = strconv.FormatFloat(*q.Min, 'f', -1, 64)
	}
	if q.Max != nil {
		hi = strconv.FormatFloat(*q.Max, 'f', -1, 64)
	}
	return "[" + lo + ", " + hi + "]"
}

// KeyAnswer returns the answer an IVR caller gave to q by pressing digits
// (for a number question, all the keys before #), and false when the keys
// mean no answer of q.
func (q *Question) KeyAnswer(keys string) (string, bool) {
	switch q.Type {
	case AnswerYesNo:
		v, ok := q.DTMF[keys]
		return v, ok
	case AnswerChoice:
		for _, o := range q.Options {
			if o.DTMF != "" && o.DTMF == keys {
				return o.Value, true
			}
		}
	case AnswerNumber:
		if v, err := q.Normalize(strings.TrimSuffix(keys, "#")); err == nil {
			return v, true
		}
	}
	return "", false
}

// Fill puts a contact's fields into a script text: {name}, {patronymic},
// {surname}, {mo_name}, {period}, {diagnosis}, {health_group}; a
// placeholder without a value is left as written.
func Fill(text string, fields map[string]string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(text, '{')
		if i < 0 {
			b.WriteString(text)
			return b.String()
		}
		j := strings.IndexByte(text[i:], '}')
		if j < 0 {
			b.WriteString(text)
			return b.String()
		}
		b.WriteString(text[:i])
		if v, ok := fields[text[i+1:i+j]]; ok {
			b.WriteString(v)
		} else {
			b.WriteString(text[i : i+j+1])
		}
		text = text[i+j+1:]
	}
}

// locator finds the line of a key in a TOML source, for errors: the
// line of key inside the idx-th [[table]] (or the top level when table is
// empty), the table's header line when key is empty or not written there.
type locator struct {
	lines []string
}

func newLocator(src []byte) *locator {
	return &locator{lines: strings.Split(string(src), "\n")}
}

// split turns a decoded key path (question.3.foo is not how toml numbers
// arrays; it gives "question.foo") into table, index and key. Index is
// unknown from toml.Key, so the first table with the key is used.
func (l *locator) split(k toml.Key) (string, int, string) {
	switch len(k) {
	case 0:
		return "", 0, ""
	case 1:
		return "", 0, k[0]
	}
	// Find which [[k[0]]] table holds the key.
	for idx := 0; ; idx++ {
		h := l.header(k[0], idx)
		if h < 0 {
			return k[0], 0, k[1]
		}
		if l.keyLine(h+1, k[1]) > 0 {
			return k[0], idx, k[1]
		}
	}
}

// header returns the 0-based line index of the idx-th [[table]] header,
// or -1.
func (l *locator) header(table string, idx int) int {
	n := 0
	for i, ln := range l.lines {
		t := strings.TrimSpace(ln)
		if t == "[["+table+"]]" || t == "["+table+"]" {
			if n == idx {
				return i
			}
			n++
		}
	}
	return -1
}

// keyLine returns the 1-based line of key written from line index from
// until the next table header, or 0.
func (l *locator) keyLine(from int, key string) int {
	for i := from; i < len(l.lines); i++ {
		t := strings.TrimSpace(l.lines[i])
		if strings.HasPrefix(t, "[") {
			return 0
		}
		if rest, ok := strings.CutPrefix(t, key); ok {
			if r := strings.TrimLeft(rest, " \t"); strings.HasPrefix(r, "=") || strings.HasPrefix(r, ".") {
				return i + 1
			}
		}
	}
	return 0
}

func (l *locator) line(table string, idx int, key string) int {
	from := 0
	if table != "" {
		h := l.header(table, idx)
		if h < 0 {
			return 0
		}
		if key == "" {
			return h + 1
		}
		from = h + 1
		if n := l.keyLine(from, key); n > 0 {
			return n
		}
		return h + 1
	}
	return l.keyLine(from, key)
}

//go:embed scripts/*.toml
var builtinScripts embed.FS

// BuiltinScripts returns the names of the scripts shipped with obzvon.
func BuiltinScripts() []string {
	ents, _ := fs.ReadDir(builtinScripts, "scripts")
	var out []string
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), ".toml"))
	}
	return out
}

// BuiltinScript returns the shipped script of that name, parsed.
func BuiltinScript(name string) (*Script, error) {
	b, err := builtinScripts.ReadFile("scripts/" + name + ".toml")
	if err != nil {
		return nil, fmt.Errorf("script %q: not a built-in script (have %s): %w", name, strings.Join(BuiltinScripts(), ", "), ErrBadScript)
	}
	return ParseScript(name+".toml", b)
}

// BuiltinScriptSource returns the TOML of a shipped script.
func BuiltinScriptSource(name string) ([]byte, error) {
	return builtinScripts.ReadFile("scripts/" + name + ".toml")
}
