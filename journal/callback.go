package journal

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/obzvon/obzvon/lists"
)

// TopicCallback is the catalog topic of callback requests.
const TopicCallback = "cons-callback"

// SystemActor is the appliance itself acting (callbacks, overflows).
var SystemActor = Actor{Login: "system", Role: RoleAdmin}

// SaveCallback records a caller who left queue without an answer and
// asked to be called back: a deferred appeal (Отсроченный ответ) of the
// phone, linked to the call, assigned to the enabled level-2 operator
// serving the queue with the fewest deferred appeals. It fails when the
// queue has no such operator.
func (j *Journal) SaveCallback(ctx context.Context, phone, queue, callID string) error {
	p, err := lists.NormalizePhone(phone)
	if err != nil {
		return fmt.Errorf("save callback: %w", &FieldError{"phone", err.Error()})
	}
	accounts, err := j.Accounts(ctx)
	if err != nil {
		return fmt.Errorf("save callback: %w", err)
	}
	var cands []string
	for _, a := range accounts {
		if a.Disabled || !slices.ContainsFunc(a.Queues, func(q string) bool { return q == queue || len(q) > len(queue) && q[:len(queue)+1] == queue+":" }) {
			continue
		}
		if slices.ContainsFunc(a.Roles, func(r Role) bool { return r == RoleOperatorL2 || r == RoleRepL2 || r == RoleRepL3 }) {
			cands = append(cands, a.Login)
		}
	}
	if len(cands) == 0 {
		return fmt.Errorf("save callback: queue %s has no level-2 operator: %w", queue, ErrNotFound)
	}
	if err := j.check(ctx, true); err != nil {
		return err
	}
	now := j.now()
	num, err := j.nextNumber(now.Year())
	if err != nil {
		return fmt.Errorf("save callback: number: %w", err)
	}
	a := &Appeal{ID: j.ids.next(now), Number: num, Created: now, Updated: now, CreatedBy: SystemActor.Login,
		Channel: ChannelPhone, Phone: p, Kind: KindConsultation, Topic: TopicCallback,
		Text:  fmt.Sprintf("Абонент не дождался ответа оператора в очереди «%s» и ждёт обратного звонка.", queue),
		Queue: queue, Status: StatusDeferred, Resolution: ResolutionForwarded, Due: now.Add(24 * time.Hour)}
	if callID != "" {
		a.Calls = []string{callID}
	}
	err = j.update(ctx, func(txn *badger.Txn) error {
		// The operator with the fewest deferred appeals takes it.
		best, bestN := "", -1
		for _, login := range cands {
			n := 0
			err := scanIndex(txn, ikey(idxAppealAssign, []byte(login), nil), nil, false, func(_, pk []byte) (bool, error) {
				var x Appeal
				if err := getJSON(txn, pk, &x); err != nil {
					return false, err
				}
				if x.Status == StatusDeferred {
					n++
				}
				return true, nil
			})
			if err != nil {
				return err
			}
			if bestN < 0 || n < bestN {
				best, bestN = login, n
			}
		}
		a.Assignee = best
		a.History = []Change{
			{At: now, By: SystemActor.Login, Role: SystemActor.Role, What: "create", To: StatusInWork, Note: "callback request from queue " + queue},
			{At: now, By: SystemActor.Login, Role: SystemActor.Role, What: "move", Move: MoveClose, From: StatusInWork, To: StatusDeferred,
				Resolution: ResolutionForwarded, Note: "to " + best},
		}
		if err := save(txn, a); err != nil {
			return err
		}
		return j.audit(txn, SystemActor, "create", "appeal:"+a.ID, "", "callback for "+best)
	})
	if err != nil {
		return fmt.Errorf("save callback: %w", err)
	}
	return nil
}
