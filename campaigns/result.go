package campaigns

import "time"

// Result is how one attempt of a campaign ended for its contact: the
// disposition an operator saves on the survey card, or the one the dialer
// records when nobody was reached. Results are the campaign's bounded
// label set for metrics and exports.
type Result int

// Results of an attempt.
const (
	// ResultUnknown is the zero value; no stored attempt ends with it.
	ResultUnknown Result = iota
	// ResultReached: the person was reached and answered the survey, or
	// heard the informing message (ЕИР263 "оповещён"). Final.
	ResultReached
	// ResultRefused: the person refused to answer, with a reason. Final.
	ResultRefused
	// ResultRescheduled: the person asked to be called at another time
	// (перенос звонка): a callback.
	ResultRescheduled
	// ResultWrongNumber: the phone is wrong or belongs to another person
	// («Телефон указан неверно или принадлежит другому ЗЛ»): that phone is
	// not called again; the contact's other phones may be.
	ResultWrongNumber
	// ResultNoAnswer: nobody answered within the ring time.
	ResultNoAnswer
	// ResultBusy: busy or congestion.
	ResultBusy
	// ResultMachine: an answering machine answered.
	ResultMachine
	// ResultFailed: the call failed (trunk error, invalid number, crash).
	ResultFailed
	// ResultDNC: the person asked never to be called again; the phone goes
	// on the do-not-call list. Final.
	ResultDNC
	// ResultAbandoned: answered live, but no operator took the call within
	// the grace period; the caller heard the safe-harbor message.
	ResultAbandoned
)

var resultNames = [...]string{"unknown", "reached", "refused", "rescheduled", "wrong_number", "no_answer", "busy",
	"machine", "failed", "dnc", "abandoned"}

var resultRussian = [...]string{"", "Дозвон, опрос проведён (оповещён)", "Отказ от ответа", "Перенос звонка",
	"Телефон указан неверно или принадлежит другому ЗЛ", "Не отвечает", "Занято", "Автоответчик",
	"Ошибка вызова", "Просит не звонить", "Сброшен (нет свободного оператора)"}

// Results lists every result, in order.
var Results = []Result{ResultReached, ResultRefused, ResultRescheduled, ResultWrongNumber, ResultNoAnswer,
	ResultBusy, ResultMachine, ResultFailed, ResultDNC, ResultAbandoned}

// String returns the result's code, as written in scripts, exports and
// metrics labels.
func (r Result) String() string {
	if r < 0 || int(r) >= len(resultNames) {
		return "unknown"
	}
	return resultNames[r]
}

// Russian returns the name operators and campaign staff read.
func (r Result) Russian() string {
	if r <= 0 || int(r) >= len(resultRussian) {
		return r.String()
	}
	return resultRussian[r]
}

// MarshalText writes the code.
func (r Result) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText parses a code or a Russian name.
func (r *Result) UnmarshalText(b []byte) error {
	v, err := ParseResult(string(b))
	*r = v
	return err
}

// ParseResult parses a result code as printed by String, or its Russian
// name.
func ParseResult(s string) (Result, error) {
	for i, n := range resultRussian {
		if i > 0 && n == s {
			return Result(i), nil
		}
	}
	i, err := parseName(resultNames[:], s, "result")
	return Result(i), err
}

// Final reports whether the result ends the contact for good: reached,
// refused and do-not-call.
func (r Result) Final() bool {
	return r == ResultReached || r == ResultRefused || r == ResultDNC
}

// Live reports whether a person answered (a live answer for the
// abandonment ledger and the estimates).
func (r Result) Live() bool {
	switch r {
	case ResultReached, ResultRefused, ResultRescheduled, ResultWrongNumber, ResultDNC, ResultAbandoned:
		return true
	}
	return false
}

// ByOperator reports whether an operator (or the IVR) may save this result
// on a survey card; the others are the dialer's.
func (r Result) ByOperator() bool {
	switch r {
	case ResultReached, ResultRefused, ResultRescheduled, ResultWrongNumber, ResultDNC, ResultMachine:
		return true
	}
	return false
}

// Outcome returns the retry rules' view of the result: the dial outcome
// whose retry delay applies.
func (r Result) Outcome() Outcome {
	switch r {
	case ResultNoAnswer:
		return OutcomeNoAnswer
	case ResultBusy:
		return OutcomeBusy
	case ResultMachine:
		return OutcomeMachine
	case ResultFailed:
		return OutcomeFailed
	case ResultAbandoned:
		return OutcomeAbandoned
	}
	return OutcomeLive
}

// ResultOfOutcome maps a dial outcome to the result the dialer records
// when no operator saved one.
func ResultOfOutcome(o Outcome) Result {
	switch o {
	case OutcomeNoAnswer:
		return ResultNoAnswer
	case OutcomeBusy:
		return ResultBusy
	case OutcomeMachine:
		return ResultMachine
	case OutcomeAbandoned:
		return ResultAbandoned
	case OutcomeLive:
		return ResultReached
	}
	return ResultFailed
}

// ResultOfSIP classifies the final SIP code of a failed dial (RFC 3261
// §21): busy for 486/600, no answer for ring timeouts (408 from our
// CANCEL) and 480, failed for the rest.
func ResultOfSIP(code int) Result {
	switch code {
	case 486, 600:
		return ResultBusy
	case 408, 480, 487:
		return ResultNoAnswer
	}
	return ResultFailed
}

// Reschedule is a result's request for a callback: when, and the operator
// who owns it (empty: any operator).
type Reschedule struct {
	At    time.Time `json:"at"`
	Agent string    `json:"agent,omitempty"`
}
