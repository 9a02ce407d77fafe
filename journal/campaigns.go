package journal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Outbound campaigns: the campaign, its contacts, their attempts, the
// decisions not to dial, the do-not-call list and the abandonment ledger.
// The journal stores them and keeps their indexes; what a contact's next
// state is (calling rules, results, scripts) is decided by package
// campaigns, which hands the journal finished records through
// ChangeContact and ChangeAttempt. Result codes and block reasons are
// stored as the codes campaigns defines.

// CampaignStatus is the state of a campaign.
type CampaignStatus int

// Campaign statuses.
const (
	// CampaignUnknown is the zero value; no stored campaign has it.
	CampaignUnknown CampaignStatus = iota
	// CampaignCreated: lists may be loaded; nothing is dialed yet.
	CampaignCreated
	// CampaignRunning: the runner dials.
	CampaignRunning
	// CampaignPaused: nothing new is dialed; calls in progress go on.
	CampaignPaused
	// CampaignStopped: final; nothing is dialed again.
	CampaignStopped
)

var campaignStatusEnum = enum[CampaignStatus]{"campaign status",
	[]string{"", "created", "running", "paused", "stopped"},
	[]string{"", "Создана", "Идёт обзвон", "Приостановлена", "Остановлена"}}

func (s CampaignStatus) String() string                { return campaignStatusEnum.str(s) }
func (s CampaignStatus) Russian() string               { return campaignStatusEnum.russian(s) } // Russian returns the staff-facing name.
func (s CampaignStatus) MarshalText() ([]byte, error)  { return []byte(s.String()), nil }
func (s *CampaignStatus) UnmarshalText(b []byte) error { return campaignStatusEnum.unmarshal(s, b) }

// ParseCampaignStatus accepts the code or the Russian name.
func ParseCampaignStatus(s string) (CampaignStatus, error) { return campaignStatusEnum.parse(s) }

// ContactStatus is where a contact is in its campaign.
type ContactStatus int

// Contact statuses.
const (
	// ContactUnknown is the zero value; no stored contact has it.
	ContactUnknown ContactStatus = iota
	// ContactPending: to be dialed at or after Next.
	ContactPending
	// ContactDialing: an attempt is in progress (never two at once).
	ContactDialing
	// ContactDone: a final result (reached, refused, do-not-call).
	ContactDone
	// ContactExhausted: never dialed again without a final result
	// (attempts used up, every phone wrong or on the DNC list).
	ContactExhausted
	// ContactNoPhone: the list gave no usable phone.
	ContactNoPhone
)

var contactStatusEnum = enum[ContactStatus]{"contact status",
	[]string{"", "pending", "dialing", "done", "exhausted", "no_phone"},
	[]string{"", "Ожидает звонка", "Идёт звонок", "Завершён", "Попытки исчерпаны", "Нет телефона"}}

// ContactStatuses lists every contact status, in order.
var ContactStatuses = []ContactStatus{ContactPending, ContactDialing, ContactDone, ContactExhausted, ContactNoPhone}

func (s ContactStatus) String() string                { return contactStatusEnum.str(s) }
func (s ContactStatus) Russian() string               { return contactStatusEnum.russian(s) } // Russian returns the staff-facing name.
func (s ContactStatus) MarshalText() ([]byte, error)  { return []byte(s.String()), nil }
func (s *ContactStatus) UnmarshalText(b []byte) error { return contactStatusEnum.unmarshal(s, b) }

// ParseContactStatus accepts the code or the Russian name.
func ParseContactStatus(s string) (ContactStatus, error) { return contactStatusEnum.parse(s) }

// Campaign is an outbound campaign.
type Campaign struct {
	V int `json:"v"`
	// ID is the campaign's name: lowercase latin letters, digits, - and _.
	ID    string `json:"id"`
	Title string `json:"title"`
	// Kind is the campaigns kind code (screening, followup, informing).
	Kind string `json:"kind"`
	// Script is the survey script's name and Source its TOML, kept with
	// the campaign so that it reads the same for its whole life.
	Script       string `json:"script"`
	ScriptSource string `json:"script_source"`
	// Settings are the campaign's dialing settings (mode, trunk, window,
	// retries…) as package campaigns encodes them.
	Settings json.RawMessage `json:"settings,omitempty"`
	Status   CampaignStatus  `json:"status"`
	// Reason says why the campaign is paused or stopped, when the system
	// did it ("trunk answers 503 to every call").
	Reason    string           `json:"reason,omitempty"`
	Created   time.Time        `json:"created"`
	Updated   time.Time        `json:"updated"`
	CreatedBy string           `json:"created_by"`
	History   []CampaignChange `json:"history,omitempty"`
}

// CampaignChange is one status change of a campaign.
type CampaignChange struct {
	At     time.Time      `json:"at"`
	By     string         `json:"by"`
	From   CampaignStatus `json:"from,omitempty"`
	To     CampaignStatus `json:"to"`
	Reason string         `json:"reason,omitempty"`
}

// ContactPhone is one phone of a contact.
type ContactPhone struct {
	// Number is E.164.
	Number string `json:"number"`
	// Type is "mobile", "fixed" or "" (unknown).
	Type string `json:"type,omitempty"`
	// Wrong is set when someone answered that it is not this person's,
	// or when the phone was on the do-not-call list as the runner was to
	// dial it (then DNC is set too).
	Wrong bool `json:"wrong,omitempty"`
	// DNC is set with Wrong when the do-not-call list is why the phone is
	// not called; taking the phone off the list clears both.
	DNC bool `json:"dnc,omitempty"`
}

// AttemptRef is an attempt as the calling rules see it.
type AttemptRef struct {
	ID     string    `json:"id"`
	At     time.Time `json:"at"`
	Phone  string    `json:"phone"`
	Result string    `json:"result,omitempty"`
}

// ContactCallback is a callback scheduled for a contact.
type ContactCallback struct {
	At time.Time `json:"at"`
	// Agent owns it until Deadline (empty: any operator).
	Agent    string    `json:"agent,omitempty"`
	Deadline time.Time `json:"deadline,omitzero"`
	// Priority callbacks (after an abandoned call) go first.
	Priority bool `json:"priority,omitempty"`
	// Appeal is the deferred appeal this callback comes from, if any.
	Appeal string `json:"appeal,omitempty"`
}

// Contact is one person of a campaign's list with their calling state.
type Contact struct {
	V        int    `json:"v"`
	Campaign string `json:"campaign"`
	// ID is the person's ЕНП.
	ID          string         `json:"id"`
	Surname     string         `json:"surname"`
	Name        string         `json:"name"`
	Patronymic  string         `json:"patronymic,omitempty"`
	Birth       string         `json:"birth,omitempty"`
	Phones      []ContactPhone `json:"phones,omitempty"`
	MOCode      string         `json:"mo_code,omitempty"`
	MOName      string         `json:"mo_name,omitempty"`
	Period      string         `json:"period,omitempty"`
	HealthGroup string         `json:"health_group,omitempty"`
	Diagnosis   string         `json:"diagnosis,omitempty"`
	// Zone is the contact's time zone (IANA or MSK±N); ZoneFrom says
	// where it came from (list, region, phone, campaign).
	Zone     string `json:"zone,omitempty"`
	ZoneFrom string `json:"zone_from,omitempty"`
	// Source and Line are where the contact was last loaded from.
	Source string    `json:"source,omitempty"`
	Line   int       `json:"line,omitempty"`
	Loaded time.Time `json:"loaded"`

	Status ContactStatus `json:"status"`
	// Next is when a pending contact may be dialed next.
	Next time.Time `json:"next,omitzero"`
	// Block is the last reason it was not dialed (a campaigns block code).
	Block    string           `json:"block,omitempty"`
	Attempts []AttemptRef     `json:"attempts,omitempty"`
	Callback *ContactCallback `json:"callback,omitempty"`
	// Result is the result of the last attempt (campaigns result code).
	Result string `json:"result,omitempty"`
	// Answers, Refusal and Comment are the survey card as last saved.
	Answers map[string]string `json:"answers,omitempty"`
	Refusal string            `json:"refusal,omitempty"`
	Comment string            `json:"comment,omitempty"`
	SavedBy string            `json:"saved_by,omitempty"`
	SavedAt time.Time         `json:"saved_at,omitzero"`
	Updated time.Time         `json:"updated"`
}

// Attempt is one dial of a contact.
type Attempt struct {
	V        int    `json:"v"`
	ID       string `json:"id"`
	Campaign string `json:"campaign"`
	Contact  string `json:"contact"`
	Phone    string `json:"phone"`
	Trunk    string `json:"trunk,omitempty"`
	// Mode is the pacing mode that placed it.
	Mode     string    `json:"mode,omitempty"`
	Started  time.Time `json:"started"`
	Answered time.Time `json:"answered,omitzero"`
	Ended    time.Time `json:"ended,omitzero"`
	// Result is empty while the attempt is in progress.
	Result  string `json:"result,omitempty"`
	SIPCode int    `json:"sip_code,omitempty"`
	CallID  string `json:"call_id,omitempty"`
	Agent   string `json:"agent,omitempty"`
	// AMD is the answering-machine decision (human, machine, unsure) and
	// AMDMillis the time it took.
	AMD       string `json:"amd,omitempty"`
	AMDMillis int    `json:"amd_ms,omitempty"`
	// SafeHarborMillis is the delay from answer to the safe-harbor
	// message of an abandoned call.
	SafeHarborMillis int `json:"safe_harbor_ms,omitempty"`
	// Note says what happened when it is not obvious ("interrupted by a
	// restart").
	Note string `json:"note,omitempty"`
}

// Skip is one decision not to dial a contact, with its reason.
type Skip struct {
	V        int       `json:"v"`
	ID       string    `json:"id"`
	Campaign string    `json:"campaign"`
	Contact  string    `json:"contact"`
	At       time.Time `json:"at"`
	Phone    string    `json:"phone,omitempty"`
	// Reason is a campaigns block code, or a load-time reason
	// ("no_phone", "bad_phone", "dnc").
	Reason string `json:"reason"`
	// Next is when the contact becomes eligible (zero: never).
	Next   time.Time `json:"next,omitzero"`
	Detail string    `json:"detail,omitempty"`
}

// DNCEntry is a phone on the do-not-call list.
type DNCEntry struct {
	V     int       `json:"v"`
	Phone string    `json:"phone"`
	Added time.Time `json:"added"`
	By    string    `json:"by"`
	// Source is "file", "api" or "result" (the person asked on a call).
	Source   string `json:"source"`
	Campaign string `json:"campaign,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// LedgerDay counts a campaign's live answers and abandoned calls on one
// day (the campaign's zone), for the abandonment limits.
type LedgerDay struct {
	V         int    `json:"v"`
	Campaign  string `json:"campaign"`
	Day       string `json:"day"` // YYYY-MM-DD
	Live      int    `json:"live"`
	Abandoned int    `json:"abandoned"`
}

const (
	kindCampaign = "campaign"
	kindContact  = "contact"
	kindAttempt  = "attempt"
	kindSkip     = "skip"
	kindDNC      = "dnc"
	kindLedger   = "ledger"
	kindEstim    = "cp_estimates"
	campaignsV   = 1

	idxCampaignStatus = "cp_status"
	idxContactDue     = "cc_due"
	idxContactStatus  = "cc_status"
	idxContactMO      = "cc_mo"
	idxContactPhone   = "cc_phone"
	idxContactCB      = "cc_cb"
	idxContactPrio    = "cc_prio"
	idxAttemptTime    = "at_time"
	idxAttemptOpen    = "at_open"
	idxAttemptContact = "at_contact"
	idxSkipContact    = "sk_contact"
)

func init() {
	registerKind[Campaign](kindCampaign)
	registerKind[Contact](kindContact)
	registerKind[Attempt](kindAttempt)
	registerKind[Skip](kindSkip)
	registerKind[DNCEntry](kindDNC)
	registerKind[LedgerDay](kindLedger)
	registerKind[CampaignEstimates](kindEstim)
}

func (c *Campaign) kind() string { return kindCampaign }
func (c *Campaign) id() string   { return c.ID }
func (c *Campaign) setVersion()  { c.V = campaignsV }
func (c *Campaign) indexKeys() [][]byte {
	return [][]byte{ikey(idxCampaignStatus, []byte(c.Status.String()), []byte(c.ID))}
}

func (c *Contact) kind() string { return kindContact }
func (c *Contact) id() string   { return c.Campaign + "/" + c.ID }
func (c *Contact) setVersion()  { c.V = campaignsV }
func (c *Contact) indexKeys() [][]byte {
	cp, id := []byte(c.Campaign), []byte(c.ID)
	keys := [][]byte{
		ikey(idxContactStatus, cp, []byte(c.Status.String()), id),
		ikey(idxContactMO, cp, []byte(c.MOCode), id),
	}
	if c.Status == ContactPending {
		keys = append(keys, ikey(idxContactDue, cp, be64(c.Next), id))
	}
	for _, p := range c.Phones {
		keys = append(keys, ikey(idxContactPhone, []byte(p.Number), cp, id))
	}
	if cb := c.Callback; cb != nil && cb.Agent != "" && (c.Status == ContactPending || c.Status == ContactDialing) {
		keys = append(keys, ikey(idxContactCB, []byte(cb.Agent), be64(cb.At), cp, id))
	}
	if cb := c.Callback; cb != nil && cb.Priority && c.Status == ContactPending {
		keys = append(keys, ikey(idxContactPrio, cp, be64(c.Next), id))
	}
	return keys
}

func (a *Attempt) kind() string { return kindAttempt }
func (a *Attempt) id() string   { return a.ID }
func (a *Attempt) setVersion()  { a.V = campaignsV }
func (a *Attempt) indexKeys() [][]byte {
	cp, id := []byte(a.Campaign), []byte(a.ID)
	keys := [][]byte{
		ikey(idxAttemptTime, cp, be64(a.Started), id),
		ikey(idxAttemptContact, cp, []byte(a.Contact), be64(a.Started), id),
	}
	if a.Result == "" {
		keys = append(keys, ikey(idxAttemptOpen, cp, id))
	}
	return keys
}

func (s *Skip) kind() string { return kindSkip }
func (s *Skip) id() string   { return s.ID }
func (s *Skip) setVersion()  { s.V = campaignsV }
func (s *Skip) indexKeys() [][]byte {
	return [][]byte{ikey(idxSkipContact, []byte(s.Campaign), []byte(s.Contact), be64(s.At), []byte(s.ID))}
}

func (d *DNCEntry) kind() string        { return kindDNC }
func (d *DNCEntry) id() string          { return d.Phone }
func (d *DNCEntry) setVersion()         { d.V = campaignsV }
func (d *DNCEntry) indexKeys() [][]byte { return nil }

func (l *LedgerDay) kind() string        { return kindLedger }
func (l *LedgerDay) id() string          { return l.Campaign + "/" + l.Day }
func (l *LedgerDay) setVersion()         { l.V = campaignsV }
func (l *LedgerDay) indexKeys() [][]byte { return nil }

// clone returns a deep copy of c.
func (c *Contact) clone() *Contact {
	n := *c
	n.Phones = slices.Clone(c.Phones)
	n.Attempts = slices.Clone(c.Attempts)
	if c.Callback != nil {
		cb := *c.Callback
		n.Callback = &cb
	}
	if c.Answers != nil {
		n.Answers = make(map[string]string, len(c.Answers))
		for k, v := range c.Answers {
			n.Answers[k] = v
		}
	}
	return &n
}

// Clone returns a deep copy of c, for callers that change a contact.
func (c *Contact) Clone() *Contact { return c.clone() }

// HasPhone reports whether the contact has a phone not marked wrong.
func (c *Contact) HasPhone() bool {
	return slices.ContainsFunc(c.Phones, func(p ContactPhone) bool { return !p.Wrong })
}

var campaignIDRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// CreateCampaign stores a new campaign in status created. Its id must be
// new and of lowercase latin letters, digits, - and _.
func (j *Journal) CreateCampaign(ctx context.Context, who Actor, c *Campaign) error {
	if !Allowed(who.Role, ActionCreate, ResourceCampaign) {
		return fmt.Errorf("create campaign: %w: role %s", ErrDenied, who.Role)
	}
	if !campaignIDRE.MatchString(c.ID) {
		return fmt.Errorf("create campaign: %w", &FieldError{"id", fmt.Sprintf("%q: lowercase latin letters, digits, - and _, at most 64", c.ID)})
	}
	if strings.TrimSpace(c.Title) == "" {
		return fmt.Errorf("create campaign: %w", &FieldError{"title", "is empty"})
	}
	now := j.now()
	n := *c
	n.Status, n.Created, n.Updated, n.CreatedBy = CampaignCreated, now, now, who.Login
	n.History = []CampaignChange{{At: now, By: who.Login, To: CampaignCreated}}
	err := j.update(ctx, func(txn *badger.Txn) error {
		if _, err := txn.Get(recordKey(kindCampaign, n.ID)); err == nil {
			return fmt.Errorf("campaign %s: %w", n.ID, ErrExists)
		} else if !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		if err := save(txn, &n); err != nil {
			return err
		}
		return j.audit(txn, who, "create", "campaign:"+n.ID, "", "kind "+n.Kind+" script "+n.Script)
	})
	if err != nil {
		return fmt.Errorf("create campaign: %w", err)
	}
	*c = n
	return nil
}

// Campaign returns the campaign with that id.
func (j *Journal) Campaign(ctx context.Context, id string) (*Campaign, error) {
	var c Campaign
	err := j.view(ctx, func(txn *badger.Txn) error { return getJSON(txn, recordKey(kindCampaign, id), &c) })
	if err != nil {
		return nil, fmt.Errorf("campaign %s: %w", id, err)
	}
	return &c, nil
}

// Campaigns returns every campaign, by id.
func (j *Journal) Campaigns(ctx context.Context) ([]Campaign, error) {
	var out []Campaign
	err := j.view(ctx, func(txn *badger.Txn) error {
		o := badger.DefaultIteratorOptions
		o.Prefix = recordKey(kindCampaign, "")
		it := txn.NewIterator(o)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var c Campaign
			if err := it.Item().Value(func(b []byte) error { return jsonUnmarshal(b, &c) }); err != nil {
				return err
			}
			out = append(out, c)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("campaigns: %w", err)
	}
	return out, nil
}

// UpdateCampaign reads campaign id, lets fn change it, and stores it with
// an audit entry, in one transaction. A status change is added to the
// history. fn may run more than once (see update); it must only change c.
func (j *Journal) UpdateCampaign(ctx context.Context, who Actor, id string, fn func(c *Campaign) error) (*Campaign, error) {
	if !Allowed(who.Role, ActionUpdate, ResourceCampaign) {
		return nil, fmt.Errorf("update campaign: %w: role %s", ErrDenied, who.Role)
	}
	var out *Campaign
	missing := false
	err := j.update(ctx, func(txn *badger.Txn) error {
		var c Campaign
		if err := getJSON(txn, recordKey(kindCampaign, id), &c); err != nil {
			missing = errors.Is(err, ErrNotFound)
			return fmt.Errorf("campaign %s: %w", id, err)
		}
		missing = false
		n := c
		n.History = slices.Clone(c.History)
		if err := fn(&n); err != nil {
			return err
		}
		n.ID = c.ID
		now := j.now()
		n.Updated = now
		detail := "settings"
		if n.Status != c.Status {
			n.History = append(n.History, CampaignChange{At: now, By: who.Login, From: c.Status, To: n.Status, Reason: n.Reason})
			detail = c.Status.String() + "→" + n.Status.String()
		}
		if err := save(txn, &n); err != nil {
			return err
		}
		out = &n
		return j.audit(txn, who, "update", "campaign:"+id, "", detail)
	})
	switch {
	case err != nil && missing:
		return nil, err // "campaign nope: not found" says it all
	case err != nil:
		return nil, fmt.Errorf("update campaign %s: %w", id, err)
	}
	return out, nil
}

// ContactChange is what one change of a contact writes, all in one
// transaction: the contact's new version, and optionally an attempt, a
// decision not to dial, a do-not-call entry and a ledger count.
type ContactChange struct {
	Contact *Contact
	Attempt *Attempt
	Skip    *Skip
	DNC     *DNCEntry
	// Live and Abandoned count one live answer (abandoned or not) on the
	// ledger day LedgerDay (YYYY-MM-DD).
	Live, Abandoned bool
	LedgerDay       string
	// CloseAttempt, when set, ends that attempt (if still open) with
	// CloseResult, by CloseAgent: an operator's card for the call.
	CloseAttempt, CloseResult, CloseAgent string
	// OnDNC, when set, is a phone this change stops dialing because the
	// caller's copy of the do-not-call list has it: the change is written
	// only if the phone is still on the list, else it fails with
	// ErrDNCChanged (the copy is stale: the phone was taken off).
	OnDNC string
	// Audit, when set, is the audit operation ("save", "dial"…) by Who.
	Audit  string
	Who    Actor
	Detail string
}

// ErrDNCChanged: a contact change decided on a copy of the do-not-call
// list that no longer holds (ContactChange.OnDNC); read the list again
// and decide again.
var ErrDNCChanged = fmt.Errorf("%w: the do-not-call list changed", ErrConflict)

// checkDialNotOnDNC refuses a new attempt (a dial) on a phone that is on
// the do-not-call list: the caller decided on a copy of the list read
// before the phone was put on it (a runner reads it every few seconds),
// and a citizen who asked not to be called must not be called in that
// window. Updates of an attempt already written are not checked.
func checkDialNotOnDNC(txn *badger.Txn, a *Attempt) error {
	if a.Result != "" || a.Phone == "" {
		return nil
	}
	switch _, err := txn.Get(recordKey(kindAttempt, a.ID)); {
	case err == nil:
		return nil // progress of a call already placed
	case !errors.Is(err, badger.ErrKeyNotFound):
		return err
	}
	switch _, err := txn.Get(recordKey(kindDNC, a.Phone)); {
	case err == nil:
		return fmt.Errorf("%w: %s was put on it", ErrDNCChanged, a.Phone)
	case !errors.Is(err, badger.ErrKeyNotFound):
		return err
	}
	return nil
}

// NewID returns a new time-ordered id for an attempt or a skip made at t.
func (j *Journal) NewID(t time.Time) string { return j.ids.next(t) }

// ChangeContact reads contact id of campaign, gives it to fn (nil when it
// does not exist) and writes what fn returns, in one durable transaction.
// fn may run more than once; it must not keep the contact it is given.
// Returning an error writes nothing.
func (j *Journal) ChangeContact(ctx context.Context, campaign, id string, fn func(c *Contact) (*ContactChange, error)) error {
	err := j.update(ctx, func(txn *badger.Txn) error {
		var c Contact
		var cur *Contact
		err := getJSON(txn, recordKey(kindContact, campaign+"/"+id), &c)
		switch {
		case err == nil:
			cur = &c
		case !errors.Is(err, ErrNotFound):
			return err
		}
		ch, err := fn(cur)
		if err != nil || ch == nil {
			return err
		}
		return j.writeChange(txn, ch)
	})
	if err != nil {
		return fmt.Errorf("contact %s/%s: %w", campaign, id, err)
	}
	return nil
}

// ChangeAttempt reads attempt id and its contact, gives both to fn and
// writes what fn returns (typically the finished attempt and the contact's
// new state), in one durable transaction.
func (j *Journal) ChangeAttempt(ctx context.Context, id string, fn func(a *Attempt, c *Contact) (*ContactChange, error)) error {
	err := j.update(ctx, func(txn *badger.Txn) error {
		var a Attempt
		if err := getJSON(txn, recordKey(kindAttempt, id), &a); err != nil {
			return err
		}
		var c Contact
		if err := getJSON(txn, recordKey(kindContact, a.Campaign+"/"+a.Contact), &c); err != nil {
			return fmt.Errorf("contact of attempt: %w", err)
		}
		ch, err := fn(&a, &c)
		if err != nil || ch == nil {
			return err
		}
		return j.writeChange(txn, ch)
	})
	if err != nil {
		return fmt.Errorf("attempt %s: %w", id, err)
	}
	return nil
}

func (j *Journal) writeChange(txn *badger.Txn, ch *ContactChange) error {
	now := j.now()
	if ch.OnDNC != "" {
		switch _, err := txn.Get(recordKey(kindDNC, ch.OnDNC)); {
		case errors.Is(err, badger.ErrKeyNotFound):
			return fmt.Errorf("%w: %s is no longer on it", ErrDNCChanged, ch.OnDNC)
		case err != nil:
			return err
		}
	}
	if c := ch.Contact; c != nil {
		if c.Campaign == "" || c.ID == "" || c.Status == ContactUnknown {
			return fmt.Errorf("%w: contact needs campaign, id and status", ErrInvalid)
		}
		c.Updated = now
		if err := save(txn, c); err != nil {
			return err
		}
	}
	if a := ch.Attempt; a != nil {
		if a.ID == "" || a.Campaign == "" || a.Contact == "" || a.Started.IsZero() {
			return fmt.Errorf("%w: attempt needs id, campaign, contact and start", ErrInvalid)
		}
		if err := checkDialNotOnDNC(txn, a); err != nil {
			return err
		}
		if err := save(txn, a); err != nil {
			return err
		}
	}
	if ch.CloseAttempt != "" {
		var a Attempt
		if err := getJSON(txn, recordKey(kindAttempt, ch.CloseAttempt), &a); err != nil {
			return fmt.Errorf("attempt %s: %w", ch.CloseAttempt, err)
		}
		if a.Result == "" {
			a.Result = ch.CloseResult
			if a.Ended.IsZero() {
				a.Ended = now
			}
			if a.Agent == "" {
				a.Agent = ch.CloseAgent
			}
			if err := save(txn, &a); err != nil {
				return err
			}
		}
	}
	if s := ch.Skip; s != nil {
		if s.ID == "" {
			s.ID = j.ids.next(s.At)
		}
		if err := save(txn, s); err != nil {
			return err
		}
	}
	if d := ch.DNC; d != nil {
		if err := putDNC(txn, d); err != nil {
			return err
		}
	}
	if ch.Live && ch.LedgerDay != "" && ch.Contact != nil {
		l := LedgerDay{Campaign: ch.Contact.Campaign, Day: ch.LedgerDay}
		if err := getJSON(txn, recordKey(kindLedger, l.id()), &l); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		l.Live++
		if ch.Abandoned {
			l.Abandoned++
		}
		if err := save(txn, &l); err != nil {
			return err
		}
	}
	if ch.Audit != "" {
		subject, person := "campaign:", ""
		if c := ch.Contact; c != nil {
			subject, person = "contact:"+c.Campaign+"/"+c.ID, c.ID
		}
		return j.audit(txn, ch.Who, ch.Audit, subject, person, ch.Detail)
	}
	return nil
}

// putDNC adds a phone to the DNC list, keeping the first entry.
func putDNC(txn *badger.Txn, d *DNCEntry) error {
	if _, err := txn.Get(recordKey(kindDNC, d.Phone)); err == nil {
		return nil
	} else if !errors.Is(err, badger.ErrKeyNotFound) {
		return err
	}
	return save(txn, d)
}

// Contact returns one contact of a campaign, auditing the read by who
// (personal data).
func (j *Journal) Contact(ctx context.Context, who Actor, campaign, id string) (*Contact, error) {
	c, err := j.contact(ctx, campaign, id)
	if err != nil {
		return nil, err
	}
	if who.Login != "" {
		if err := j.auditRead(ctx, who, "read", "contact:"+campaign+"/"+id, id, ""); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (j *Journal) contact(ctx context.Context, campaign, id string) (*Contact, error) {
	var c Contact
	err := j.view(ctx, func(txn *badger.Txn) error { return getJSON(txn, recordKey(kindContact, campaign+"/"+id), &c) })
	if err != nil {
		return nil, fmt.Errorf("contact %s/%s: %w", campaign, id, err)
	}
	return &c, nil
}

// DueContacts returns up to limit pending contacts of campaign whose Next
// is at or before now, earliest first. Callers re-check each (the rules
// decide); the list is a snapshot.
func (j *Journal) DueContacts(ctx context.Context, campaign string, now time.Time, limit int) ([]Contact, error) {
	prefix := ikey(idxContactDue, []byte(campaign), nil)
	end := ikey(idxContactDue, []byte(campaign), be64(now.Add(time.Nanosecond)))
	var out []Contact
	err := j.view(ctx, func(txn *badger.Txn) error {
		return scanIndex(txn, prefix, nil, false, func(k, pk []byte) (bool, error) {
			if string(k) >= string(end) || len(out) >= limit {
				return false, nil
			}
			var c Contact
			if err := getJSON(txn, pk, &c); err != nil {
				return false, fmt.Errorf("index %q: %w", k, err)
			}
			out = append(out, c)
			return true, nil
		})
	})
	return out, err
}

// NextDue returns the earliest Next of the campaign's pending contacts,
// and false when none is pending.
func (j *Journal) NextDue(ctx context.Context, campaign string) (time.Time, bool, error) {
	var next time.Time
	found := false
	err := j.view(ctx, func(txn *badger.Txn) error {
		return scanIndex(txn, ikey(idxContactDue, []byte(campaign), nil), nil, false, func(k, pk []byte) (bool, error) {
			var c Contact
			if err := getJSON(txn, pk, &c); err != nil {
				return false, err
			}
			next, found = c.Next, true
			return false, nil
		})
	})
	return next, found, err
}

// ContactsFilter selects contacts of a campaign.
type ContactsFilter struct {
	// MO and Status select by that index when set (MO first).
	MO     string
	Status ContactStatus
	// Phone selects the contacts with that phone (E.164), in any campaign
	// when Campaign is empty.
	Phone string
	// Limit caps the result (0: no limit).
	Limit int
}

// Contacts calls fn with every contact of campaign matching f, in id
// order, until fn returns false. It reads in one snapshot.
func (j *Journal) Contacts(ctx context.Context, campaign string, f ContactsFilter, fn func(c *Contact) bool) error {
	var prefix []byte
	switch {
	case f.Phone != "":
		if campaign == "" {
			prefix = ikey(idxContactPhone, []byte(f.Phone), nil)
		} else {
			prefix = ikey(idxContactPhone, []byte(f.Phone), []byte(campaign), nil)
		}
	case f.MO != "":
		prefix = ikey(idxContactMO, []byte(campaign), []byte(f.MO), nil)
	case f.Status != ContactUnknown:
		prefix = ikey(idxContactStatus, []byte(campaign), []byte(f.Status.String()), nil)
	default:
		prefix = recordKey(kindContact, campaign+"/")
	}
	n := 0
	return j.view(ctx, func(txn *badger.Txn) error {
		visit := func(b []byte) (bool, error) {
			var c Contact
			if err := jsonUnmarshal(b, &c); err != nil {
				return false, err
			}
			if f.Status != ContactUnknown && c.Status != f.Status {
				return true, nil
			}
			n++
			return fn(&c) && (f.Limit == 0 || n < f.Limit), ctx.Err()
		}
		if prefix[0] == spaceRecord[0] {
			o := badger.DefaultIteratorOptions
			o.Prefix = prefix
			it := txn.NewIterator(o)
			defer it.Close()
			for it.Rewind(); it.Valid(); it.Next() {
				var more bool
				err := it.Item().Value(func(b []byte) error {
					var err error
					more, err = visit(b)
					return err
				})
				if err != nil || !more {
					return err
				}
			}
			return nil
		}
		return scanIndex(txn, prefix, nil, false, func(k, pk []byte) (bool, error) {
			it, err := txn.Get(pk)
			if err != nil {
				return false, fmt.Errorf("index %q: %w", k, err)
			}
			var more bool
			err = it.Value(func(b []byte) error {
				var err error
				more, err = visit(b)
				return err
			})
			return more, err
		})
	})
}

// Attempt returns one attempt.
func (j *Journal) Attempt(ctx context.Context, id string) (*Attempt, error) {
	var a Attempt
	err := j.view(ctx, func(txn *badger.Txn) error { return getJSON(txn, recordKey(kindAttempt, id), &a) })
	if err != nil {
		return nil, fmt.Errorf("attempt %s: %w", id, err)
	}
	return &a, nil
}

// OpenAttempts returns the attempts of campaign without a result: calls in
// progress, or, after a crash, calls that were cut off.
func (j *Journal) OpenAttempts(ctx context.Context, campaign string) ([]Attempt, error) {
	var out []Attempt
	err := j.view(ctx, func(txn *badger.Txn) error {
		return scanIndex(txn, ikey(idxAttemptOpen, []byte(campaign), nil), nil, false, func(k, pk []byte) (bool, error) {
			var a Attempt
			if err := getJSON(txn, pk, &a); err != nil {
				return false, fmt.Errorf("index %q: %w", k, err)
			}
			out = append(out, a)
			return true, nil
		})
	})
	return out, err
}

// Attempts returns the attempts of campaign started in [from, to) (zero
// bounds are open), or, when contact is set, all of that contact's,
// oldest first.
func (j *Journal) Attempts(ctx context.Context, campaign, contact string, from, to time.Time) ([]Attempt, error) {
	var prefix, start, end []byte
	if contact != "" {
		prefix = ikey(idxAttemptContact, []byte(campaign), []byte(contact), nil)
	} else {
		prefix = ikey(idxAttemptTime, []byte(campaign), nil)
		start = ikey(idxAttemptTime, []byte(campaign), be64(from))
		if !to.IsZero() {
			end = ikey(idxAttemptTime, []byte(campaign), be64(to))
		}
	}
	var out []Attempt
	err := j.view(ctx, func(txn *badger.Txn) error {
		return scanIndex(txn, prefix, start, false, func(k, pk []byte) (bool, error) {
			if end != nil && string(k) >= string(end) {
				return false, nil
			}
			var a Attempt
			if err := getJSON(txn, pk, &a); err != nil {
				return false, fmt.Errorf("index %q: %w", k, err)
			}
			out = append(out, a)
			return true, ctx.Err()
		})
	})
	return out, err
}

// Skips returns the recorded decisions not to dial a contact, oldest first.
func (j *Journal) Skips(ctx context.Context, campaign, contact string) ([]Skip, error) {
	var out []Skip
	err := j.view(ctx, func(txn *badger.Txn) error {
		return scanIndex(txn, ikey(idxSkipContact, []byte(campaign), []byte(contact), nil), nil, false, func(k, pk []byte) (bool, error) {
			var s Skip
			if err := getJSON(txn, pk, &s); err != nil {
				return false, fmt.Errorf("index %q: %w", k, err)
			}
			out = append(out, s)
			return true, nil
		})
	})
	return out, err
}

// AddDNC puts phones on the do-not-call list (E.164, already checked by
// the caller); phones already there keep their first entry. It returns how
// many were new.
func (j *Journal) AddDNC(ctx context.Context, who Actor, entries []DNCEntry) (int, error) {
	if !Allowed(who.Role, ActionUpdate, ResourceCampaign) {
		return 0, fmt.Errorf("add to DNC: %w: role %s", ErrDenied, who.Role)
	}
	added := 0
	now := j.now()
	for start := 0; start < len(entries); start += 1000 {
		batch := entries[start:min(start+1000, len(entries))]
		n := 0
		err := j.update(ctx, func(txn *badger.Txn) error {
			n = 0
			for _, e := range batch {
				if _, err := txn.Get(recordKey(kindDNC, e.Phone)); err == nil {
					continue
				}
				e.Added, e.By = now, who.Login
				if err := save(txn, &e); err != nil {
					return err
				}
				n++
			}
			return j.audit(txn, who, "create", "dnc:", "", fmt.Sprintf("%d phones", n))
		})
		if err != nil {
			return added, fmt.Errorf("add to DNC: %w", err)
		}
		added += n
	}
	return added, nil
}

// DNC returns the DNC entry of phone, or ErrNotFound.
func (j *Journal) DNC(ctx context.Context, phone string) (*DNCEntry, error) {
	var d DNCEntry
	err := j.view(ctx, func(txn *badger.Txn) error { return getJSON(txn, recordKey(kindDNC, phone), &d) })
	if err != nil {
		return nil, fmt.Errorf("dnc %s: %w", phone, err)
	}
	return &d, nil
}

// DNCSet returns every phone on the do-not-call list.
func (j *Journal) DNCSet(ctx context.Context) (map[string]struct{}, error) {
	out := map[string]struct{}{}
	err := j.view(ctx, func(txn *badger.Txn) error {
		o := badger.DefaultIteratorOptions
		o.Prefix, o.PrefetchValues = recordKey(kindDNC, ""), false
		it := txn.NewIterator(o)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			out[string(it.Item().Key()[len(o.Prefix):])] = struct{}{}
		}
		return nil
	})
	return out, err
}

// Ledger returns a campaign's ledger days in [from, to] (YYYY-MM-DD).
func (j *Journal) Ledger(ctx context.Context, campaign, from, to string) ([]LedgerDay, error) {
	var out []LedgerDay
	err := j.view(ctx, func(txn *badger.Txn) error {
		o := badger.DefaultIteratorOptions
		o.Prefix = recordKey(kindLedger, campaign+"/")
		it := txn.NewIterator(o)
		defer it.Close()
		for it.Seek(recordKey(kindLedger, campaign+"/"+from)); it.ValidForPrefix(o.Prefix); it.Next() {
			var l LedgerDay
			if err := it.Item().Value(func(b []byte) error { return jsonUnmarshal(b, &l) }); err != nil {
				return err
			}
			if l.Day > to {
				break
			}
			out = append(out, l)
		}
		return nil
	})
	return out, err
}

// Callbacks returns the pending contacts with a callback owned by agent,
// earliest first (any campaign).
func (j *Journal) Callbacks(ctx context.Context, agent string) ([]Contact, error) {
	var out []Contact
	err := j.view(ctx, func(txn *badger.Txn) error {
		return scanIndex(txn, ikey(idxContactCB, []byte(agent), nil), nil, false, func(k, pk []byte) (bool, error) {
			var c Contact
			if err := getJSON(txn, pk, &c); err != nil {
				return false, fmt.Errorf("index %q: %w", k, err)
			}
			out = append(out, c)
			return true, nil
		})
	})
	return out, err
}

// ContactLoadStats counts what a contact load did.
type ContactLoadStats struct {
	Inserted  int `json:"inserted"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	// NoPhone counts contacts stored without a usable phone.
	NoPhone int `json:"no_phone"`
}

// contactLoadBatch is how many contacts one transaction of a load writes.
const contactLoadBatch = 500

// LoadContacts stores the contacts of a campaign's list, already parsed
// and merged by the caller (one entry per person). A person already in the
// campaign keeps its calling state and history; its person fields are
// replaced and its phones merged (a phone marked wrong stays wrong), so a
// repeated load changes nothing. New contacts are pending and due at once,
// or no_phone (with a recorded skip) when they have no phone. Contacts are
// written in durable batches: a load cut short by a crash is completed by
// running it again. progress, if not nil, is called after each batch with
// the number of contacts written so far.
func (j *Journal) LoadContacts(ctx context.Context, who Actor, campaign string, contacts []Contact, source string, progress func(done int)) (ContactLoadStats, error) {
	var st ContactLoadStats
	if !Allowed(who.Role, ActionCreate, ResourceList) {
		return st, fmt.Errorf("load contacts: %w: role %s", ErrDenied, who.Role)
	}
	cp, err := j.Campaign(ctx, campaign)
	if err != nil {
		return st, fmt.Errorf("load contacts: %w", err)
	}
	if cp.Status == CampaignStopped {
		return st, fmt.Errorf("load contacts: %w: campaign %s is stopped", ErrInvalid, campaign)
	}
	for i := range contacts {
		if !validENP(contacts[i].ID) {
			return st, fmt.Errorf("load contacts: %w: contact %d: id %q is not a 16-digit ЕНП", ErrInvalid, i, contacts[i].ID)
		}
	}
	now := j.now()
	for start := 0; start < len(contacts); start += contactLoadBatch {
		batch := contacts[start:min(start+contactLoadBatch, len(contacts))]
		var bst ContactLoadStats
		err := j.update(ctx, func(txn *badger.Txn) error {
			bst = ContactLoadStats{}
			for i := range batch {
				in := &batch[i]
				var old Contact
				err := getJSON(txn, recordKey(kindContact, campaign+"/"+in.ID), &old)
				var n *Contact
				switch {
				case errors.Is(err, ErrNotFound):
					n = in.clone()
					n.Campaign, n.Source, n.Loaded, n.Updated = campaign, source, now, now
					n.Status, n.Next, n.Attempts, n.Callback, n.Result = ContactPending, time.Time{}, nil, nil, ""
					if !n.HasPhone() {
						n.Status = ContactNoPhone
						bst.NoPhone++
						sk := &Skip{ID: j.ids.next(now), Campaign: campaign, Contact: n.ID, At: now, Reason: "no_phone",
							Detail: fmt.Sprintf("%s line %d: no usable phone", source, in.Line)}
						if err := save(txn, sk); err != nil {
							return err
						}
					}
					bst.Inserted++
				case err != nil:
					return err
				default:
					n = mergeContact(&old, in)
					if contactSame(&old, n) {
						bst.Unchanged++
						continue
					}
					n.Source, n.Line, n.Loaded, n.Updated = source, in.Line, now, now
					bst.Updated++
				}
				if err := save(txn, n); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return st, fmt.Errorf("load contacts into %s: %w", campaign, err)
		}
		st.Inserted += bst.Inserted
		st.Updated += bst.Updated
		st.Unchanged += bst.Unchanged
		st.NoPhone += bst.NoPhone
		if progress != nil {
			progress(start + len(batch))
		}
	}
	detail := fmt.Sprintf("inserted %d updated %d unchanged %d no_phone %d", st.Inserted, st.Updated, st.Unchanged, st.NoPhone)
	err = j.update(ctx, func(txn *badger.Txn) error {
		return j.audit(txn, who, "load", "campaign:"+campaign, "", source+": "+detail)
	})
	return st, err
}

// mergeContact returns old with the person fields of in and the union of
// their phones.
func mergeContact(old, in *Contact) *Contact {
	n := old.clone()
	n.Surname, n.Name, n.Patronymic, n.Birth = in.Surname, in.Name, in.Patronymic, in.Birth
	n.MOCode, n.MOName, n.Period, n.HealthGroup, n.Diagnosis = in.MOCode, in.MOName, in.Period, in.HealthGroup, in.Diagnosis
	if in.Zone != "" {
		n.Zone, n.ZoneFrom = in.Zone, in.ZoneFrom
	}
	for _, p := range in.Phones {
		if !slices.ContainsFunc(n.Phones, func(q ContactPhone) bool { return q.Number == p.Number }) {
			n.Phones = append(n.Phones, ContactPhone{Number: p.Number, Type: p.Type})
		}
	}
	if n.Status == ContactNoPhone && n.HasPhone() {
		n.Status, n.Next = ContactPending, time.Time{}
	}
	return n
}

// contactSame reports whether a merge changed nothing that is stored.
func contactSame(a, b *Contact) bool {
	if a.Surname != b.Surname || a.Name != b.Name || a.Patronymic != b.Patronymic || a.Birth != b.Birth ||
		a.MOCode != b.MOCode || a.MOName != b.MOName || a.Period != b.Period || a.HealthGroup != b.HealthGroup ||
		a.Diagnosis != b.Diagnosis || a.Zone != b.Zone || a.ZoneFrom != b.ZoneFrom || a.Status != b.Status {
		return false
	}
	return slices.Equal(a.Phones, b.Phones)
}

func validENP(s string) bool {
	if len(s) != 16 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// AuditExport records an export of personal data (a campaign's results)
// by who.
func (j *Journal) AuditExport(ctx context.Context, who Actor, subject, detail string) error {
	if !Allowed(who.Role, ActionRead, ResourceCampaign) {
		return fmt.Errorf("export: %w: role %s", ErrDenied, who.Role)
	}
	return j.auditRead(ctx, who, "export", subject, "", detail)
}
