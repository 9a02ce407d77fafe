package journal

import (
	"fmt"
	"strings"
	"time"
)

// Move is a step of the appeal workflow (manual §6, DESIGN.md):
//
//	in_work ──close(resolution, comment)──▶ under_review ──approve──▶ closed
//	   ▲  │                                    │
//	   │  │close(forwarded, to)                └──return(comment)──▶ in_work
//	   │  ▼
//	deferred (for the chosen operator) ──resume──▶ in_work
//
// close with "extended" carries a new due date and a reason and goes to
// under_review; approving it sets the new due date and puts the appeal
// back in_work (it stays on control); returning it keeps the old date.
type Move int

// Workflow moves.
const (
	// MoveUnknown is the zero value; always refused.
	MoveUnknown Move = iota
	// MoveClose closes an in_work appeal with a resolution and a comment.
	MoveClose
	// MoveResume takes a deferred appeal back in_work (after the call back).
	MoveResume
	// MoveApprove approves an appeal under review (administrator).
	MoveApprove
	// MoveReturn returns an appeal under review to in_work (administrator).
	MoveReturn
	// MoveTransfer hands an open appeal to another operator (переадресация).
	MoveTransfer
)

var moveEnum = enum[Move]{"move", []string{"", "close", "resume", "approve", "return", "transfer"}, nil}

func (m Move) String() string                { return moveEnum.str(m) }
func (m Move) MarshalText() ([]byte, error)  { return []byte(m.String()), nil }
func (m *Move) UnmarshalText(b []byte) error { return moveEnum.unmarshal(m, b) }

// ParseMove parses a move name.
func ParseMove(s string) (Move, error) { return moveEnum.parse(s) }

// Step is a workflow move with its arguments.
type Step struct {
	Move Move `json:"move"`
	// Resolution and Comment are required by close; Comment by return.
	Resolution Resolution `json:"resolution,omitempty"`
	Comment    string     `json:"comment,omitempty"`
	// To is the operator's login for close with "forwarded" and transfer.
	To string `json:"to,omitempty"`
	// NewDue is the extended due date for close with "extended".
	NewDue time.Time `json:"new_due,omitzero"`
}

// Actor is who does something: an account's login and role.
type Actor struct {
	Login string `json:"login"`
	Role  Role   `json:"role"`
}

// MoveError explains why a workflow move was refused. It wraps
// ErrIllegalMove.
type MoveError struct {
	Number string // the appeal's number
	Move   Move
	From   Status
	Reason string // in English, for logs and the API
}

func (e *MoveError) Error() string {
	return fmt.Sprintf("appeal %s: %s from %s refused: %s", e.Number, e.Move, e.From, e.Reason)
}

// Unwrap returns ErrIllegalMove.
func (e *MoveError) Unwrap() error { return ErrIllegalMove }

// isAdmin reports whether r may approve and return appeals.
func isAdmin(r Role) bool { return r == RoleAdmin }

// handles reports whether who may work the appeal: its assignee, or an
// administrator or supervisor.
func handles(a *Appeal, who Actor) bool {
	return who.Login != "" && who.Login == a.Assignee || who.Role == RoleAdmin || who.Role == RoleSupervisor
}

// Apply performs act on a and returns the changed copy with the change
// appended to its history; a itself is not modified. now is the time of
// the change (injected so the rules test without a clock). A refused move
// returns a *MoveError that says which move, from which status, and why.
func Apply(a *Appeal, act Step, who Actor, now time.Time) (*Appeal, error) {
	refuse := func(format string, args ...any) (*Appeal, error) {
		return nil, &MoveError{Number: a.Number, Move: act.Move, From: a.Status, Reason: fmt.Sprintf(format, args...)}
	}
	if who.Role == RoleUnknown || who.Login == "" {
		return refuse("no actor")
	}
	if !Allowed(who.Role, ActionUpdate, ResourceAppeal) {
		return refuse("role %s may not change appeals", who.Role)
	}
	n := a.clone()
	ch := Change{At: now, By: who.Login, Role: who.Role, Move: act.Move, From: a.Status}
	comment := strings.TrimSpace(act.Comment)
	switch act.Move {
	case MoveClose:
		if a.Status != StatusInWork {
			return refuse("only an appeal in work can be closed")
		}
		if !handles(a, who) {
			return refuse("only the assigned operator (%s) or an administrator can close it", a.Assignee)
		}
		if act.Resolution == ResolutionUnknown {
			return refuse("a resolution is required")
		}
		if act.Resolution > ResolutionExtended || act.Resolution < 0 {
			return refuse("unknown resolution %d", int(act.Resolution))
		}
		if comment == "" {
			return refuse("a comment on the measures taken is required")
		}
		n.Resolution, n.Comment = act.Resolution, comment
		switch act.Resolution {
		case ResolutionForwarded:
			to := strings.TrimSpace(act.To)
			if to == "" {
				return refuse("forwarded with notice needs the operator to forward to")
			}
			n.Status, n.Assignee = StatusDeferred, to
			ch.Note = "forwarded to " + to
		case ResolutionExtended:
			if act.NewDue.IsZero() {
				return refuse("deadline extension needs the new due date")
			}
			if !act.NewDue.After(a.Due) || !act.NewDue.After(now) {
				return refuse("new due date %s must be later than the current one (%s) and than now",
					act.NewDue.Format(time.DateOnly), a.Due.Format(time.DateOnly))
			}
			n.Status, n.PendingDue = StatusUnderReview, act.NewDue
			ch.Note = "extension to " + act.NewDue.Format(time.DateOnly) + " requested"
		default:
			n.Status = StatusUnderReview
		}
		ch.Resolution = act.Resolution
	case MoveResume:
		if a.Status != StatusDeferred {
			return refuse("only a deferred appeal can be resumed")
		}
		if !handles(a, who) {
			return refuse("only the assigned operator (%s) or an administrator can resume it", a.Assignee)
		}
		n.Status, n.Resolution = StatusInWork, ResolutionUnknown
	case MoveApprove:
		if a.Status != StatusUnderReview {
			return refuse("only an appeal under review can be approved")
		}
		if !isAdmin(who.Role) {
			return refuse("only an administrator approves, not %s", who.Role)
		}
		if !a.PendingDue.IsZero() {
			ch.Note = fmt.Sprintf("extension approved: due %s → %s", a.Due.Format(time.DateOnly), a.PendingDue.Format(time.DateOnly))
			n.Due, n.PendingDue = a.PendingDue, time.Time{}
			n.Status, n.Resolution = StatusInWork, ResolutionUnknown
		} else {
			n.Status, n.ClosedAt = StatusClosed, now
		}
	case MoveReturn:
		if a.Status != StatusUnderReview {
			return refuse("only an appeal under review can be returned")
		}
		if !isAdmin(who.Role) {
			return refuse("only an administrator returns, not %s", who.Role)
		}
		if comment == "" {
			return refuse("returning needs a comment saying what to redo")
		}
		if !a.PendingDue.IsZero() {
			ch.Note = "extension refused"
		}
		n.Status, n.Resolution, n.PendingDue = StatusInWork, ResolutionUnknown, time.Time{}
		ch.Note = strings.TrimSpace(ch.Note + " " + comment)
	case MoveTransfer:
		if a.Status != StatusInWork && a.Status != StatusDeferred {
			return refuse("only an open appeal (in work or deferred) can be transferred")
		}
		if !handles(a, who) && who.Login != a.CreatedBy {
			return refuse("only the assigned operator (%s), its author or an administrator can transfer it", a.Assignee)
		}
		to := strings.TrimSpace(act.To)
		if to == "" {
			return refuse("transfer needs the operator to transfer to")
		}
		if to == a.Assignee {
			return refuse("it is already assigned to %s", to)
		}
		n.Assignee = to
		ch.Note = "transferred from " + a.Assignee + " to " + to
	default:
		return refuse("unknown move")
	}
	ch.To = n.Status
	if comment != "" && act.Move != MoveReturn {
		ch.Note = strings.TrimSpace(ch.Note + " " + comment)
	}
	n.Updated = now
	n.History = append(n.History, ch)
	return n, nil
}
