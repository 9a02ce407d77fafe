package campaigns

// IVR walks an agentless call through a script's IVR mode: after the
// message (Script.IVRPrompt) each question is asked by its prompt and
// answered by keys (Question.KeyAnswer), following the script's
// branches, until the survey ends. A question gets at most MaxTries
// answers that are not a key of it or no answer at all; then the IVR
// gives up and the answers so far stand. It is pure: the dialer plays the
// prompts and reads the keys. An IVR is not safe for concurrent use.
type IVR struct {
	s       *Script
	q       string
	tries   int
	answers map[string]string
	gaveUp  bool
}

// MaxTries is how many wrong or missing answers a question gets.
const MaxTries = 3

// NewIVR starts the IVR of s at its first question.
func NewIVR(s *Script) *IVR {
	return &IVR{s: s, q: s.First(), answers: map[string]string{}}
}

// Question returns the question to ask now, nil when the survey is over
// (the script ended or the IVR gave up).
func (v *IVR) Question() *Question {
	if v.gaveUp || v.q == End {
		return nil
	}
	q, ok := v.s.Question(v.q)
	if !ok {
		return nil
	}
	return q
}

// Answer takes the keys pressed for the current question. It reports
// whether they answer it (then the next question comes); wrong keys count
// as a try.
func (v *IVR) Answer(keys string) bool {
	q := v.Question()
	if q == nil {
		return false
	}
	val, ok := q.KeyAnswer(keys)
	if !ok {
		v.miss()
		return false
	}
	v.answers[q.ID] = val
	v.q, v.tries = v.s.NextAfter(q.ID, val), 0
	return true
}

// NoAnswer counts a question left without keys; it reports whether the
// question is asked again.
func (v *IVR) NoAnswer() bool {
	v.miss()
	return !v.gaveUp
}

func (v *IVR) miss() {
	v.tries++
	if v.tries >= MaxTries {
		v.gaveUp = true
	}
}

// Complete reports whether the survey reached its end.
func (v *IVR) Complete() bool { return !v.gaveUp && v.q == End }

// Answers returns the answers given, by question id.
func (v *IVR) Answers() map[string]string { return v.answers }
