package campaigns

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/obzvon/obzvon/journal"
	"github.com/obzvon/obzvon/lists"
)

// AppealSkip is a deferred appeal that could not become a callback, and
// why.
type AppealSkip struct {
	Appeal string `json:"appeal"`
	Number string `json:"number"`
	Reason string `json:"reason"`
}

// AppealCallbacks is what ImportAppealCallbacks did.
type AppealCallbacks struct {
	// Deferred appeals seen; Added became callbacks now; Already were
	// callbacks of the campaign before (an import repeated).
	Deferred int          `json:"deferred"`
	Added    int          `json:"added"`
	Already  int          `json:"already"`
	Skipped  []AppealSkip `json:"skipped,omitempty"`
}

// maxAppealCallbacks bounds one import.
const maxAppealCallbacks = 10000

// ImportAppealCallbacks makes every deferred appeal of the journal
// (Отсроченный ответ: its operator must call the person back) a callback
// in campaign, owned by the appeal's assignee until the appeal's due date
// and linked to the appeal: the person (by ЕНП) becomes a contact with
// the appeal's phone if not one already, and gets the callback unless
// they have one. Appeals without a phone or without a person's ЕНП are
// skipped with the reason. Running it again adds nothing twice. The
// operator dials such a callback from their card (Runner.DialFor); the
// pacer leaves it to them until the due date, then to any operator. The
// appeals are read as the appliance (journal.SystemActor): campaign staff,
// who load the contacts as who, may not read appeals themselves.
func ImportAppealCallbacks(ctx context.Context, j *journal.Journal, who journal.Actor, campaign string, now time.Time) (*AppealCallbacks, error) {
	c, err := j.Campaign(ctx, campaign)
	if err != nil {
		return nil, err
	}
	if c.Status == journal.CampaignStopped {
		return nil, fmt.Errorf("%w: campaign %s is stopped", ErrBadTransition, campaign)
	}
	sys := journal.SystemActor
	refs, err := j.Appeals(ctx, sys, nil, journal.AppealFilter{Status: journal.StatusDeferred, Limit: maxAppealCallbacks})
	if err != nil {
		return nil, err
	}
	res := &AppealCallbacks{Deferred: len(refs)}
	type cb struct {
		contact journal.Contact
		call    journal.ContactCallback
	}
	var todo []cb
	for _, ref := range refs {
		a, err := j.Appeal(ctx, sys, ref.ID)
		if err != nil {
			return nil, err
		}
		skip := func(reason string) {
			res.Skipped = append(res.Skipped, AppealSkip{Appeal: a.ID, Number: a.Number, Reason: reason})
		}
		switch {
		case a.Status != journal.StatusDeferred:
			continue // moved on since the listing
		case a.Phone == "":
			skip("no phone to call back")
			continue
		case !lists.ValidENP(a.Person.ENP):
			skip("the person has no ЕНП (not found in the registry): call back from the appeal")
			continue
		case a.Assignee == "":
			skip("no operator assigned")
			continue
		}
		p, err := lists.ParsePhone(a.Phone)
		if err != nil {
			skip("phone: " + err.Error())
			continue
		}
		todo = append(todo, cb{
			contact: journal.Contact{ID: a.Person.ENP, Surname: a.Person.Surname, Name: a.Person.Name, Patronymic: a.Person.Patronymic,
				Birth: a.Person.Birth, Phones: []journal.ContactPhone{{Number: p.E164, Type: p.Type}}, Zone: p.Zone},
			call: journal.ContactCallback{At: now, Agent: a.Assignee, Deadline: a.Due, Appeal: a.ID},
		})
	}
	if len(todo) == 0 {
		return res, nil
	}
	list := make([]journal.Contact, len(todo))
	for i := range todo {
		list[i] = todo[i].contact
	}
	if _, err := j.LoadContacts(ctx, who, campaign, list, "appeals", nil); err != nil {
		return nil, err
	}
	for _, t := range todo {
		added, already := false, false
		err := j.ChangeContact(ctx, campaign, t.contact.ID, func(ct *journal.Contact) (*journal.ContactChange, error) {
			switch {
			case ct == nil:
				return nil, journal.ErrNotFound
			case ct.Callback != nil && ct.Callback.Appeal == t.call.Appeal:
				already = true
				return nil, nil
			case ct.Callback != nil || ct.Status != journal.ContactPending:
				return nil, nil
			}
			n := ct.Clone()
			cbk := t.call
			n.Callback, n.Next, n.Block = &cbk, cbk.At, ""
			added = true
			return &journal.ContactChange{Contact: n}, nil
		})
		if err != nil && !errors.Is(err, journal.ErrNotFound) {
			return nil, err
		}
		switch {
		case added:
			res.Added++
		case already:
			res.Already++
		default:
			res.Skipped = append(res.Skipped, AppealSkip{Appeal: t.call.Appeal, Reason: "the person is in the campaign with another callback or is not pending"})
		}
	}
	return res, nil
}
