package journal

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/obzvon/obzvon/lists"
)

// DefaultDue is the time an appeal has before its due date: 30 days, the
// term for written appeals of citizens (Federal Law 59-FZ, art. 12).
const DefaultDue = 30 * 24 * time.Hour

// PersonData is the person an appeal is about: found in the registry (ENP
// set) or typed by the operator.
type PersonData struct {
	// ENP is the unified policy number (16 digits) when the person was
	// found in the insured registry.
	ENP        string `json:"enp,omitempty"`
	Surname    string `json:"surname,omitempty"`
	Name       string `json:"name,omitempty"`
	Patronymic string `json:"patronymic,omitempty"`
	// Birth is the date of birth, YYYY-MM-DD.
	Birth   string `json:"birth,omitempty"`
	Address string `json:"address,omitempty"`
	// Policy is a policy number as typed (any series/format).
	Policy string `json:"policy,omitempty"`
}

// key identifies the person for history lookups: the ENP, or the folded
// full name and date of birth; empty when neither is known.
func (p PersonData) key() string {
	if p.ENP != "" {
		return p.ENP
	}
	if p.Surname == "" || p.Birth == "" {
		return ""
	}
	return "fio:" + lists.Fold(p.Surname) + "|" + lists.Fold(p.Name) + "|" + lists.Fold(p.Patronymic) + "|" + p.Birth
}

// Attachment is a document attached to an appeal (manual 5.2.1).
type Attachment struct {
	ID       string `json:"id"`
	FileName string `json:"file_name"`
	Size     int64  `json:"size"`
	SHA256   string `json:"sha256"`
	// DocNumber and Registered are the document's number and registration
	// date (YYYY-MM-DD), both required.
	DocNumber  string    `json:"doc_number"`
	Registered string    `json:"registered"`
	Added      time.Time `json:"added"`
	By         string    `json:"by"`
}

// Change is one entry of an appeal's history: who, when, what.
type Change struct {
	At   time.Time `json:"at"`
	By   string    `json:"by"`
	Role Role      `json:"role"`
	// Move is the workflow move, or MoveUnknown for create and edits.
	Move Move `json:"move,omitempty"`
	// What is "create", "edit", "link", "attach", "call" or "move".
	What       string     `json:"what"`
	From       Status     `json:"from,omitempty"`
	To         Status     `json:"to,omitempty"`
	Resolution Resolution `json:"resolution,omitempty"`
	// Fields lists the fields an edit changed.
	Fields []string `json:"fields,omitempty"`
	Note   string   `json:"note,omitempty"`
}

// Appeal is the registration card of one appeal (manual 5.1.4–6).
type Appeal struct {
	V  int    `json:"v"`
	ID string `json:"id"`
	// Number is the human number, YYYY-NNNNNN, unique.
	Number    string    `json:"number"`
	Created   time.Time `json:"created"`
	Updated   time.Time `json:"updated"`
	ClosedAt  time.Time `json:"closed_at,omitzero"`
	CreatedBy string    `json:"created_by"`
	Channel   Channel   `json:"channel"`
	// Phone is the caller's phone in E.164 (filled from the call).
	Phone  string     `json:"phone,omitempty"`
	Person PersonData `json:"person"`
	Kind   Kind       `json:"kind"`
	// Topic is the id of a topic of Kind's catalog.
	Topic string `json:"topic"`
	Text  string `json:"text"`
	// Links are ids of earlier appeals linked to this one.
	Links []string `json:"links,omitempty"`
	// Calls are ids of call records (with their recordings).
	Calls       []string     `json:"calls,omitempty"`
	Attachments []Attachment `json:"attachments,omitempty"`
	// Queue is the inbound queue the appeal came from, if any.
	Queue      string     `json:"queue,omitempty"`
	Assignee   string     `json:"assignee"`
	Status     Status     `json:"status"`
	Resolution Resolution `json:"resolution,omitempty"`
	// Comment is the comment on the measures taken.
	Comment string    `json:"comment,omitempty"`
	Due     time.Time `json:"due"`
	// PendingDue is a requested deadline extension awaiting approval.
	PendingDue time.Time `json:"pending_due,omitzero"`
	History    []Change  `json:"history"`
}

const (
	kindAppeal       = "appeal"
	appealVersion    = 1
	idxAppealNumber  = "a_number"
	idxAppealCreated = "a_created"
	idxAppealPhone   = "a_phone"
	idxAppealPerson  = "a_person"
	idxAppealAssign  = "a_assignee"
	idxAppealAuthor  = "a_author"
	idxAppealQueue   = "a_queue"
	idxAppealStatus  = "a_status"
	idxAppealDue     = "a_due"
)

func init() { registerKind[Appeal](kindAppeal) }

func (a *Appeal) kind() string { return kindAppeal }
func (a *Appeal) id() string   { return a.ID }
func (a *Appeal) setVersion()  { a.V = appealVersion }
func (a *Appeal) indexKeys() [][]byte {
	id := []byte(a.ID)
	keys := [][]byte{
		ikey(idxAppealNumber, []byte(a.Number)),
		ikey(idxAppealCreated, be64(a.Created), id),
		ikey(idxAppealAssign, []byte(a.Assignee), id),
		ikey(idxAppealAuthor, []byte(a.CreatedBy), id),
		ikey(idxAppealStatus, []byte(a.Status.String()), id),
	}
	if a.Phone != "" {
		keys = append(keys, ikey(idxAppealPhone, []byte(a.Phone), inv64(a.Created), id))
	}
	if pk := a.Person.key(); pk != "" {
		keys = append(keys, ikey(idxAppealPerson, []byte(pk), inv64(a.Created), id))
	}
	if a.Queue != "" {
		keys = append(keys, ikey(idxAppealQueue, []byte(a.Queue), id))
	}
	if a.Status != StatusClosed {
		keys = append(keys, ikey(idxAppealDue, be64(a.Due), id))
	}
	return keys
}

func (a *Appeal) clone() *Appeal {
	n := *a
	n.Links = slices.Clone(a.Links)
	n.Calls = slices.Clone(a.Calls)
	n.Attachments = slices.Clone(a.Attachments)
	n.History = slices.Clone(a.History)
	return &n
}

// FieldError names the field of a record that is wrong and why. It wraps
// ErrInvalid.
type FieldError struct {
	Field, Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Unwrap returns ErrInvalid.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// validateCard checks the fields an operator fills in and normalizes the
// phone and names in place.
func validateCard(a *Appeal) error {
	if a.Channel <= ChannelUnknown || a.Channel > ChannelInPerson {
		return &FieldError{"channel", "choose phone, written, email or in_person"}
	}
	if a.Kind <= KindUnknown || a.Kind > KindGratitude {
		return &FieldError{"kind", "choose complaint, consultation, statement, proposal or gratitude"}
	}
	if strings.TrimSpace(a.Topic) == "" {
		return &FieldError{"topic", "choose a topic of the kind"}
	}
	a.Text = strings.TrimSpace(a.Text)
	if a.Text == "" {
		return &FieldError{"text", "is empty"}
	}
	if a.Phone != "" {
		p, err := lists.NormalizePhone(a.Phone)
		if err != nil {
			return &FieldError{"phone", err.Error()}
		}
		a.Phone = p
	}
	p := &a.Person
	p.Surname, p.Name, p.Patronymic = strings.TrimSpace(p.Surname), strings.TrimSpace(p.Name), strings.TrimSpace(p.Patronymic)
	if err := firstErr(checkLine("topic", a.Topic, maxShortLen), checkText("text", a.Text, maxTextLen),
		checkLine("person.surname", p.Surname, maxNameLen), checkLine("person.name", p.Name, maxNameLen),
		checkLine("person.patronymic", p.Patronymic, maxNameLen), checkLine("person.address", p.Address, maxAddressLen),
		checkLine("person.policy", p.Policy, maxShortLen), checkLine("queue", a.Queue, maxShortLen)); err != nil {
		return err
	}
	if p.ENP != "" && !lists.ValidENP(p.ENP) {
		return &FieldError{"person.enp", fmt.Sprintf("%q is not 16 digits", p.ENP)}
	}
	if p.Birth != "" {
		d, err := lists.ParseDate(p.Birth)
		if err != nil {
			return &FieldError{"person.birth", err.Error()}
		}
		p.Birth = d.Format(time.DateOnly) // 17.05.1980 is stored as 1980-05-17
	}
	return nil
}

// AppealRef is a short view of an appeal for history lists.
type AppealRef struct {
	ID       string    `json:"id"`
	Number   string    `json:"number"`
	Created  time.Time `json:"created"`
	Kind     Kind      `json:"kind"`
	Topic    string    `json:"topic"`
	Status   Status    `json:"status"`
	Assignee string    `json:"assignee"`
	// Channel, Resolution and the due dates let a worklist sort and
	// flag appeals without reading each one (a read of personal data).
	Channel    Channel    `json:"channel"`
	Resolution Resolution `json:"resolution,omitempty"`
	Due        time.Time  `json:"due"`
	PendingDue time.Time  `json:"pending_due,omitzero"`
}

func (a *Appeal) ref() AppealRef {
	return AppealRef{ID: a.ID, Number: a.Number, Created: a.Created, Kind: a.Kind, Topic: a.Topic, Status: a.Status, Assignee: a.Assignee,
		Channel: a.Channel, Resolution: a.Resolution, Due: a.Due, PendingDue: a.PendingDue}
}

// sequence returns the Badger sequence for name, leasing 100 numbers at a
// time. Numbers leased and unused when the process dies are skipped: the
// appeal numbers are unique and increasing, not gapless.
func (j *Journal) sequence(name string) (*badger.Sequence, error) {
	j.seqMu.Lock()
	defer j.seqMu.Unlock()
	if j.seqs == nil {
		return nil, ErrClosed
	}
	if s, ok := j.seqs[name]; ok {
		return s, nil
	}
	s, err := j.db.GetSequence([]byte(spaceSeq+name), 100)
	if err != nil {
		return nil, err
	}
	j.seqs[name] = s
	return s, nil
}

// nextNumber returns the next appeal number of the year: 2026-000123.
func (j *Journal) nextNumber(year int) (string, error) {
	s, err := j.sequence(fmt.Sprintf("appeal/%d", year))
	if err != nil {
		return "", err
	}
	n, err := s.Next()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d-%06d", year, n+1), nil
}

// CreateAppeal validates and stores a new appeal from the card a, made by
// who: it gets an id, a number, status in_work, a due date (a.Due, or
// DefaultDue from now), the author as assignee unless one is given, and a
// "create" history entry. Links must name existing appeals. a is updated
// with what was stored.
func (j *Journal) CreateAppeal(ctx context.Context, who Actor, a *Appeal) error {
	if !Allowed(who.Role, ActionCreate, ResourceAppeal) || who.Login == "" {
		return fmt.Errorf("create appeal: %w: role %s", ErrDenied, who.Role)
	}
	if err := validateCard(a); err != nil {
		return fmt.Errorf("create appeal: %w", err)
	}
	if err := j.check(ctx, true); err != nil {
		return err
	}
	now := j.now()
	num, err := j.nextNumber(now.Year())
	if err != nil {
		return fmt.Errorf("create appeal: number: %w", err)
	}
	n := a.clone()
	n.ID, n.Number, n.Created, n.Updated, n.CreatedBy = j.ids.next(now), num, now, now, who.Login
	n.Status, n.Resolution, n.Comment, n.PendingDue, n.ClosedAt = StatusInWork, ResolutionUnknown, "", time.Time{}, time.Time{}
	if n.Assignee == "" {
		n.Assignee = who.Login
	}
	if n.Due.IsZero() {
		n.Due = now.Add(DefaultDue)
	}
	n.Attachments = nil
	n.History = []Change{{At: now, By: who.Login, Role: who.Role, What: "create", To: StatusInWork}}
	err = j.update(ctx, func(txn *badger.Txn) error {
		if err := checkTopic(txn, n.Kind, n.Topic); err != nil {
			return err
		}
		for _, l := range n.Links {
			if _, err := txn.Get(recordKey(kindAppeal, l)); err != nil {
				return fmt.Errorf("%w: links: appeal %s: %w", ErrInvalid, l, err)
			}
		}
		if err := save(txn, n); err != nil {
			return err
		}
		return j.audit(txn, who, "create", "appeal:"+n.ID, n.Person.ENP, "")
	})
	if err != nil {
		return fmt.Errorf("create appeal: %w", err)
	}
	*a = *n
	return nil
}

// getAppeal reads an appeal in txn.
func getAppeal(txn *badger.Txn, id string) (*Appeal, error) {
	var a Appeal
	if err := getJSON(txn, recordKey(kindAppeal, id), &a); err != nil {
		return nil, fmt.Errorf("appeal %s: %w", id, err)
	}
	return &a, nil
}

// Appeal returns the appeal with the given id (or number), auditing the
// read. Access is checked by the caller (api) with CanSeeAppeal.
func (j *Journal) Appeal(ctx context.Context, who Actor, idOrNumber string) (*Appeal, error) {
	if !Allowed(who.Role, ActionRead, ResourceAppeal) {
		return nil, fmt.Errorf("appeal: %w: role %s", ErrDenied, who.Role)
	}
	var a *Appeal
	err := j.view(ctx, func(txn *badger.Txn) error {
		id := idOrNumber
		if strings.Contains(idOrNumber, "-") {
			it, err := txn.Get(ikey(idxAppealNumber, []byte(idOrNumber)))
			if errors.Is(err, badger.ErrKeyNotFound) {
				return fmt.Errorf("appeal %s: %w", idOrNumber, ErrNotFound)
			}
			if err != nil {
				return err
			}
			pk, err := it.ValueCopy(nil)
			if err != nil {
				return err
			}
			id = string(pk[len(recordKey(kindAppeal, "")):])
		}
		var err error
		a, err = getAppeal(txn, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := j.auditRead(ctx, who, "read", "appeal:"+a.ID, a.Person.ENP, ""); err != nil {
		return nil, err
	}
	return a, nil
}

// changeAppeal reads appeal id, lets fn produce its new version, and saves
// it with an audit entry, all in one transaction.
func (j *Journal) changeAppeal(ctx context.Context, who Actor, id, op string, fn func(a *Appeal, txn *badger.Txn) (*Appeal, string, error)) (*Appeal, error) {
	var out *Appeal
	err := j.update(ctx, func(txn *badger.Txn) error {
		a, err := getAppeal(txn, id)
		if err != nil {
			return err
		}
		n, detail, err := fn(a, txn)
		if err != nil {
			return err
		}
		if err := save(txn, n); err != nil {
			return err
		}
		out = n
		return j.audit(txn, who, op, "appeal:"+n.ID, n.Person.ENP, detail)
	})
	return out, err
}

// Move performs a workflow action on appeal id (see Apply for the rules)
// and stores the result with its history entry and audit. An appeal
// forwarded or transferred must go to an enabled account that may work
// appeals (checked once any account exists).
func (j *Journal) Move(ctx context.Context, who Actor, id string, act Step) (*Appeal, error) {
	a, err := j.changeAppeal(ctx, who, id, "move", func(a *Appeal, txn *badger.Txn) (*Appeal, string, error) {
		n, err := Apply(a, act, who, j.now())
		if err != nil {
			return nil, "", err
		}
		if n.Assignee != a.Assignee {
			if err := checkOperator(txn, n.Assignee); err != nil {
				return nil, "", err
			}
		}
		return n, act.Move.String() + " " + a.Status.String() + "→" + n.Status.String(), nil
	})
	if err != nil {
		return nil, fmt.Errorf("move appeal: %w", err)
	}
	return a, nil
}

// checkOperator verifies, in txn, that login is an enabled account whose
// roles may work appeals. A journal without accounts (a fresh install,
// tests of the workflow alone) accepts any login.
func checkOperator(txn *badger.Txn, login string) error {
	var acc Account
	err := getJSON(txn, recordKey(kindAccount, login), &acc)
	if errors.Is(err, ErrNotFound) {
		o := badger.DefaultIteratorOptions
		o.Prefix, o.PrefetchValues = recordKey(kindAccount, ""), false
		it := txn.NewIterator(o)
		it.Rewind()
		accounts := it.Valid()
		it.Close()
		if !accounts {
			return nil
		}
		return &FieldError{"to", fmt.Sprintf("no account %q", login)}
	}
	if err != nil {
		return err
	}
	if acc.Disabled {
		return &FieldError{"to", fmt.Sprintf("account %s is disabled", login)}
	}
	if !acc.Allowed(ActionUpdate, ResourceAppeal) {
		return &FieldError{"to", fmt.Sprintf("account %s (%s) does not work appeals", login, rolesString(acc.Roles))}
	}
	return nil
}

// AppealEdit lists the card fields to change; nil fields stay as they are.
type AppealEdit struct {
	Channel *Channel    `json:"channel,omitempty"`
	Phone   *string     `json:"phone,omitempty"`
	Person  *PersonData `json:"person,omitempty"`
	Kind    *Kind       `json:"kind,omitempty"`
	Topic   *string     `json:"topic,omitempty"`
	Text    *string     `json:"text,omitempty"`
	Due     *time.Time  `json:"due,omitempty"`
}

// EditAppeal changes card fields of an open appeal (in work or deferred).
// Only its assignee, author or an administrator may; the history entry
// lists the fields changed. Changing the due date is an administrator's.
func (j *Journal) EditAppeal(ctx context.Context, who Actor, id string, e AppealEdit) (*Appeal, error) {
	a, err := j.changeAppeal(ctx, who, id, "update", func(a *Appeal, txn *badger.Txn) (*Appeal, string, error) {
		if !Allowed(who.Role, ActionUpdate, ResourceAppeal) {
			return nil, "", fmt.Errorf("%w: role %s", ErrDenied, who.Role)
		}
		if !handles(a, who) && who.Login != a.CreatedBy {
			return nil, "", fmt.Errorf("%w: appeal %s is assigned to %s", ErrDenied, a.Number, a.Assignee)
		}
		if a.Status != StatusInWork && a.Status != StatusDeferred {
			return nil, "", fmt.Errorf("%w: appeal %s is %s; only open appeals are edited", ErrIllegalMove, a.Number, a.Status)
		}
		n := a.clone()
		var fields []string
		set := func(name string, changed bool) {
			if changed {
				fields = append(fields, name)
			}
		}
		if e.Channel != nil {
			set("channel", n.Channel != *e.Channel)
			n.Channel = *e.Channel
		}
		if e.Phone != nil {
			ph := *e.Phone
			if ph != "" {
				var err error
				if ph, err = lists.NormalizePhone(ph); err != nil {
					return nil, "", &FieldError{"phone", err.Error()}
				}
			}
			set("phone", n.Phone != ph)
			n.Phone = ph
		}
		if e.Person != nil {
			set("person", n.Person != *e.Person)
			n.Person = *e.Person
		}
		if e.Kind != nil {
			set("kind", n.Kind != *e.Kind)
			n.Kind = *e.Kind
		}
		if e.Topic != nil {
			set("topic", n.Topic != *e.Topic)
			n.Topic = *e.Topic
		}
		if e.Text != nil {
			set("text", n.Text != *e.Text)
			n.Text = *e.Text
		}
		if e.Due != nil {
			if who.Role != RoleAdmin {
				return nil, "", fmt.Errorf("%w: only an administrator changes the due date", ErrDenied)
			}
			set("due", !n.Due.Equal(*e.Due))
			n.Due = *e.Due
		}
		if err := validateCard(n); err != nil {
			return nil, "", err
		}
		if e.Kind != nil || e.Topic != nil {
			if err := checkTopic(txn, n.Kind, n.Topic); err != nil {
				return nil, "", err
			}
		}
		if len(fields) == 0 {
			return nil, "", fmt.Errorf("%w: nothing changed", ErrInvalid)
		}
		now := j.now()
		n.Updated = now
		n.History = append(n.History, Change{At: now, By: who.Login, Role: who.Role, What: "edit", From: a.Status, To: a.Status, Fields: fields})
		return n, "fields: " + strings.Join(fields, ","), nil
	})
	if err != nil {
		return nil, fmt.Errorf("edit appeal: %w", err)
	}
	return a, nil
}

// LinkAppeals links earlier appeals to appeal id (manual 5.1.7). Linking
// an appeal to itself, to a later one or to an unknown one is refused.
func (j *Journal) LinkAppeals(ctx context.Context, who Actor, id string, earlier ...string) (*Appeal, error) {
	a, err := j.changeAppeal(ctx, who, id, "link", func(a *Appeal, txn *badger.Txn) (*Appeal, string, error) {
		if !handles(a, who) && who.Login != a.CreatedBy {
			return nil, "", fmt.Errorf("%w: appeal %s is assigned to %s", ErrDenied, a.Number, a.Assignee)
		}
		n := a.clone()
		var added []string
		for _, e := range earlier {
			if e == a.ID {
				return nil, "", &FieldError{"links", "an appeal cannot be linked to itself"}
			}
			o, err := getAppeal(txn, e)
			if err != nil {
				return nil, "", &FieldError{"links", err.Error()}
			}
			if !o.Created.Before(a.Created) {
				return nil, "", &FieldError{"links", fmt.Sprintf("appeal %s is not earlier than %s", o.Number, a.Number)}
			}
			if !slices.Contains(n.Links, e) {
				n.Links = append(n.Links, e)
				added = append(added, o.Number)
			}
		}
		now := j.now()
		n.Updated = now
		n.History = append(n.History, Change{At: now, By: who.Login, Role: who.Role, What: "link", From: a.Status, To: a.Status, Note: strings.Join(added, ", ")})
		return n, "linked " + strings.Join(added, ","), nil
	})
	if err != nil {
		return nil, fmt.Errorf("link appeals: %w", err)
	}
	return a, nil
}

// AttachCall records that call callID (with its recording) belongs to
// appeal id. The call record must exist.
func (j *Journal) AttachCall(ctx context.Context, who Actor, id, callID string) (*Appeal, error) {
	a, err := j.changeAppeal(ctx, who, id, "attach", func(a *Appeal, txn *badger.Txn) (*Appeal, string, error) {
		if _, err := txn.Get(recordKey(kindCall, callID)); err != nil {
			return nil, "", &FieldError{"calls", fmt.Sprintf("call %s: %v", callID, err)}
		}
		if slices.Contains(a.Calls, callID) {
			return a, "call " + callID + " already attached", nil
		}
		n := a.clone()
		now := j.now()
		n.Calls, n.Updated = append(n.Calls, callID), now
		n.History = append(n.History, Change{At: now, By: who.Login, Role: who.Role, What: "call", From: a.Status, To: a.Status, Note: callID})
		return n, "call " + callID, nil
	})
	if err != nil {
		return nil, fmt.Errorf("attach call: %w", err)
	}
	return a, nil
}

// AddAttachment stores a document's content and attaches it to appeal id.
// The document number and its registration date (YYYY-MM-DD) are required.
func (j *Journal) AddAttachment(ctx context.Context, who Actor, id string, att Attachment, content []byte) (*Appeal, error) {
	if strings.TrimSpace(att.FileName) == "" {
		return nil, fmt.Errorf("add attachment: %w", &FieldError{"file_name", "is empty"})
	}
	if err := firstErr(checkLine("file_name", att.FileName, maxFileLen), checkLine("doc_number", att.DocNumber, maxShortLen)); err != nil {
		return nil, fmt.Errorf("add attachment: %w", err)
	}
	if strings.TrimSpace(att.DocNumber) == "" {
		return nil, fmt.Errorf("add attachment: %w", &FieldError{"doc_number", "is empty"})
	}
	if _, err := time.Parse(time.DateOnly, att.Registered); err != nil {
		return nil, fmt.Errorf("add attachment: %w", &FieldError{"registered", fmt.Sprintf("%q is not a date YYYY-MM-DD", att.Registered)})
	}
	if len(content) > 32<<20 {
		return nil, fmt.Errorf("add attachment: %w", &FieldError{"content", "larger than 32 MiB"})
	}
	a, err := j.changeAppeal(ctx, who, id, "attach", func(a *Appeal, txn *badger.Txn) (*Appeal, string, error) {
		if !handles(a, who) && who.Login != a.CreatedBy {
			return nil, "", fmt.Errorf("%w: appeal %s is assigned to %s", ErrDenied, a.Number, a.Assignee)
		}
		now := j.now()
		sum := sha256.Sum256(content)
		att.ID, att.Size, att.SHA256, att.Added, att.By = j.ids.next(now), int64(len(content)), hex.EncodeToString(sum[:]), now, who.Login
		if err := txn.Set([]byte(spaceBlob+att.ID), content); err != nil {
			return nil, "", err
		}
		n := a.clone()
		n.Attachments, n.Updated = append(n.Attachments, att), now
		n.History = append(n.History, Change{At: now, By: who.Login, Role: who.Role, What: "attach", From: a.Status, To: a.Status, Note: att.DocNumber})
		return n, "attachment " + att.ID, nil
	})
	if err != nil {
		return nil, fmt.Errorf("add attachment: %w", err)
	}
	return a, nil
}

// AttachmentContent returns the stored bytes of an attachment.
func (j *Journal) AttachmentContent(ctx context.Context, who Actor, appealID, attID string) ([]byte, error) {
	a, err := j.Appeal(ctx, who, appealID)
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(a.Attachments, func(x Attachment) bool { return x.ID == attID }) {
		return nil, fmt.Errorf("attachment %s of appeal %s: %w", attID, a.Number, ErrNotFound)
	}
	var b []byte
	err = j.view(ctx, func(txn *badger.Txn) error {
		it, err := txn.Get([]byte(spaceBlob + attID))
		if err != nil {
			return err
		}
		b, err = it.ValueCopy(nil)
		return err
	})
	return b, err
}

// HistoryQuery selects a person's earlier appeals: by phone, by person
// (their ENP, or full name with date of birth), or both (merged).
type HistoryQuery struct {
	Phone  string
	Person PersonData
}

// History returns all appeals of the same phone or person, newest first,
// with their status (manual 5.1.7). The read is audited.
func (j *Journal) History(ctx context.Context, who Actor, q HistoryQuery) ([]AppealRef, error) {
	if !Allowed(who.Role, ActionRead, ResourceAppeal) {
		return nil, fmt.Errorf("history: %w: role %s", ErrDenied, who.Role)
	}
	var prefixes [][]byte
	if q.Phone != "" {
		p, err := lists.NormalizePhone(q.Phone)
		if err != nil {
			return nil, fmt.Errorf("history: %w", &FieldError{"phone", err.Error()})
		}
		prefixes = append(prefixes, ikey(idxAppealPhone, []byte(p), nil))
	}
	if q.Person.Birth != "" {
		d, err := lists.ParseDate(q.Person.Birth)
		if err != nil {
			return nil, fmt.Errorf("history: %w", &FieldError{"person.birth", err.Error()})
		}
		q.Person.Birth = d.Format(time.DateOnly)
	}
	if k := q.Person.key(); k != "" {
		prefixes = append(prefixes, ikey(idxAppealPerson, []byte(k), nil))
	}
	if len(prefixes) == 0 {
		return nil, fmt.Errorf("history: %w: give a phone or a person", ErrInvalid)
	}
	seen := map[string]bool{}
	var out []AppealRef
	err := j.view(ctx, func(txn *badger.Txn) error {
		for _, p := range prefixes {
			err := scanIndex(txn, p, nil, false, func(_, pk []byte) (bool, error) {
				if seen[string(pk)] || len(out) >= 1000 {
					return len(out) < 1000, nil
				}
				seen[string(pk)] = true
				var a Appeal
				if err := getJSON(txn, pk, &a); err != nil {
					return false, err
				}
				out = append(out, a.ref())
				return true, nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	slices.SortFunc(out, func(a, b AppealRef) int { return b.Created.Compare(a.Created) })
	if err := j.auditRead(ctx, who, "read", "history:", q.Person.ENP, fmt.Sprintf("by phone=%v person=%v, %d found", q.Phone != "", q.Person.key() != "", len(out))); err != nil {
		return nil, err
	}
	return out, nil
}

// AppealFilter selects appeals for a list.
type AppealFilter struct {
	// Assignee, Author, Queue, Status select by that index (first set wins).
	Assignee, Author, Queue string
	Status                  Status
	// Limit caps the result (0 means 500).
	Limit int
}

// Appeals lists appeals matching f, in creation order, keeping only those
// the actor may see (CanSeeAppeal with the account's queues). With no
// filter an operator gets their own: assigned, and for level 1 also
// authored and of their queues.
func (j *Journal) Appeals(ctx context.Context, who Actor, queues []string, f AppealFilter) ([]AppealRef, error) {
	if !Allowed(who.Role, ActionRead, ResourceAppeal) {
		return nil, fmt.Errorf("appeals: %w: role %s", ErrDenied, who.Role)
	}
	// Pick the indexes to read: the filter's, or, with no filter, the
	// ones that can hold what the actor may see (administrators and
	// supervisors: all, by creation time).
	var prefixes [][]byte
	switch {
	case f.Assignee != "":
		prefixes = [][]byte{ikey(idxAppealAssign, []byte(f.Assignee), nil)}
	case f.Author != "":
		prefixes = [][]byte{ikey(idxAppealAuthor, []byte(f.Author), nil)}
	case f.Queue != "":
		prefixes = [][]byte{ikey(idxAppealQueue, []byte(f.Queue), nil)}
	case f.Status != StatusUnknown:
		prefixes = [][]byte{ikey(idxAppealStatus, []byte(f.Status.String()), nil)}
	case who.Role == RoleAdmin || who.Role == RoleSupervisor:
		prefixes = [][]byte{ikey(idxAppealCreated)}
	default:
		prefixes = [][]byte{ikey(idxAppealAssign, []byte(who.Login), nil)}
		if who.Role == RoleOperatorL1 {
			prefixes = append(prefixes, ikey(idxAppealAuthor, []byte(who.Login), nil))
			for _, q := range queues {
				prefixes = append(prefixes, ikey(idxAppealQueue, []byte(q), nil))
			}
		}
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 500
	}
	var out []AppealRef
	seen := map[string]bool{}
	err := j.view(ctx, func(txn *badger.Txn) error {
		for _, prefix := range prefixes {
			err := scanIndex(txn, prefix, nil, false, func(_, pk []byte) (bool, error) {
				if seen[string(pk)] {
					return true, nil
				}
				seen[string(pk)] = true
				var a Appeal
				if err := getJSON(txn, pk, &a); err != nil {
					return false, err
				}
				if f.Status != StatusUnknown && a.Status != f.Status {
					return true, nil
				}
				if CanSeeAppeal(who.Login, who.Role, queues, &a) {
					out = append(out, a.ref())
				}
				return len(out) < limit, ctx.Err()
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("appeals: %w", err)
	}
	// Ids are time-ordered: this is creation order across the indexes.
	slices.SortFunc(out, func(a, b AppealRef) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// AppealsCreated returns full appeals created in [from, to), oldest first,
// for export by an administrator; the export is audited.
func (j *Journal) AppealsCreated(ctx context.Context, who Actor, from, to time.Time) ([]Appeal, error) {
	if !Allowed(who.Role, ActionRead, ResourceJournal) {
		return nil, fmt.Errorf("export appeals: %w: role %s", ErrDenied, who.Role)
	}
	prefix := ikey(idxAppealCreated)
	var end []byte
	if !to.IsZero() {
		end = ikey(idxAppealCreated, be64(to))
	}
	var out []Appeal
	err := j.view(ctx, func(txn *badger.Txn) error {
		return scanIndex(txn, prefix, ikey(idxAppealCreated, be64(from)), false, func(k, pk []byte) (bool, error) {
			if end != nil && string(k) >= string(end) {
				return false, nil
			}
			var a Appeal
			if err := getJSON(txn, pk, &a); err != nil {
				return false, err
			}
			out = append(out, a)
			return true, ctx.Err()
		})
	})
	if err != nil {
		return nil, fmt.Errorf("export appeals: %w", err)
	}
	if err := j.auditRead(ctx, who, "export", "appeals:", "", fmt.Sprintf("%d appeals from %s to %s", len(out), from.Format(time.RFC3339), to.Format(time.RFC3339))); err != nil {
		return nil, err
	}
	return out, nil
}
