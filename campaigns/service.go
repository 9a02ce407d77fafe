package campaigns

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/obzvon/obzvon/journal"
	"github.com/obzvon/obzvon/lists"
)

// Staff operations on the journal, shared by the HTTP API and the CLI
// when no daemon runs. Each checks its input with the domain rules above
// and writes through the journal.

// CreateRequest is what campaign staff give to create a campaign.
type CreateRequest struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	// Script is a built-in script's name (screening, followup,
	// informing); ScriptSource, when set, is a script file's TOML instead.
	Script       string   `json:"script"`
	ScriptSource string   `json:"script_source,omitempty"`
	Settings     Settings `json:"settings"`
}

// Create checks a request and stores the campaign (status created).
func Create(ctx context.Context, j *journal.Journal, who journal.Actor, req CreateRequest) (*journal.Campaign, error) {
	src := []byte(req.ScriptSource)
	name := req.Script
	if len(src) == 0 {
		b, err := BuiltinScriptSource(req.Script)
		if err != nil {
			return nil, fmt.Errorf("%w: script %q: not a built-in script (have %s); give its file", ErrBadScript, req.Script, strings.Join(BuiltinScripts(), ", "))
		}
		src = b
	}
	if name == "" {
		name = "script"
	}
	sc, err := ParseScript(name+".toml", src)
	if err != nil {
		return nil, err
	}
	set := req.Settings
	if set.Mode == "" && sc.Kind == KindInforming && sc.IVRPrompt != "" {
		set.Mode = ModeProgressive.String()
	}
	cp, err := set.Compile()
	if err != nil {
		return nil, err
	}
	if cp.Mode == ModeAgentless && sc.IVRPrompt == "" {
		return nil, fmt.Errorf("%w: mode agentless needs a script with ivr_prompt (script %s has none)", ErrBadSettings, sc.Name)
	}
	raw, _ := json.Marshal(cp.Settings)
	c := &journal.Campaign{ID: req.ID, Title: req.Title, Kind: sc.Kind.String(), Script: sc.Name, ScriptSource: string(src), Settings: raw}
	if err := j.CreateCampaign(ctx, who, c); err != nil {
		return nil, err
	}
	return c, nil
}

// ScriptOf parses a stored campaign's script.
func ScriptOf(c *journal.Campaign) (*Script, error) {
	return ParseScript(c.Script+".toml", []byte(c.ScriptSource))
}

// CompiledOf returns a stored campaign's compiled settings.
func CompiledOf(c *journal.Campaign) (*Compiled, error) {
	s, err := ParseSettings(c.Settings)
	if err != nil {
		return nil, err
	}
	return s.Compile()
}

// LoadResult is what a list load did: the list as read and the contacts
// as stored.
type LoadResult struct {
	*ListResult
	journal.ContactLoadStats
	Took time.Duration `json:"took"`
}

// Progress reports a load's progress: the stage ("read" or "write") and
// the rows or contacts done.
type Progress func(stage string, done int)

// Load reads a survey list and stores its contacts in campaign id. A file
// that cannot be read stores nothing; bad rows are reported and skipped.
func Load(ctx context.Context, j *journal.Journal, who journal.Actor, id string, r io.Reader, f lists.Format, source string, progress Progress) (*LoadResult, error) {
	start := time.Now()
	if _, err := j.Campaign(ctx, id); err != nil {
		return nil, err
	}
	res, err := ReadList(r, f, func(n int) {
		if progress != nil {
			progress("read", n)
		}
	})
	if err != nil {
		return nil, err
	}
	st, err := j.LoadContacts(ctx, who, id, res.Contacts, source, func(n int) {
		if progress != nil {
			progress("write", n)
		}
	})
	if err != nil {
		return nil, err
	}
	if res.Errors == nil {
		res.Errors = []*lists.RowError{}
	}
	return &LoadResult{ListResult: res, ContactLoadStats: st, Took: time.Since(start)}, nil
}

// SetStatus moves campaign id to status to (start, pause, stop), checked
// by Transition.
func SetStatus(ctx context.Context, j *journal.Journal, who journal.Actor, id string, to journal.CampaignStatus, reason string) (*journal.Campaign, error) {
	return j.UpdateCampaign(ctx, who, id, func(c *journal.Campaign) error {
		if err := Transition(c.Status, to); err != nil {
			return err
		}
		if to == journal.CampaignRunning {
			if _, err := CompiledOf(c); err != nil {
				return err
			}
		}
		c.Status, c.Reason = to, reason
		return nil
	})
}

// Status is a campaign with its counts.
type Status struct {
	Campaign *journal.Campaign `json:"campaign"`
	Report   *Report           `json:"report"`
	// Attempts counts the campaign's attempts by result; "" are in
	// progress.
	Attempts map[string]int `json:"attempts"`
}

// StatusOf reads a campaign and counts its contacts and attempts.
func StatusOf(ctx context.Context, j *journal.Journal, id string) (*Status, error) {
	c, err := j.Campaign(ctx, id)
	if err != nil {
		return nil, err
	}
	rep, err := Tally(id, func(fn func(*journal.Contact) bool) error {
		return j.Contacts(ctx, id, journal.ContactsFilter{}, fn)
	})
	if err != nil {
		return nil, err
	}
	st := &Status{Campaign: c, Report: rep, Attempts: map[string]int{}}
	err = j.Contacts(ctx, id, journal.ContactsFilter{}, func(ct *journal.Contact) bool {
		for _, a := range ct.Attempts {
			st.Attempts[a.Result]++
		}
		return true
	})
	return st, err
}

// Why is the answer to "why was this person (not) called?": the contact,
// its attempts, the decisions not to dial it and what the rules say now.
type Why struct {
	Contact  *journal.Contact  `json:"contact"`
	Attempts []journal.Attempt `json:"attempts"`
	Skips    []journal.Skip    `json:"skips"`
	// Now is what the calling rules decide at the time of asking.
	Now struct {
		At     time.Time `json:"at"`
		OK     bool      `json:"ok"`
		Phone  string    `json:"phone,omitempty"`
		Reason string    `json:"reason,omitempty"`
		Why    string    `json:"why,omitempty"`
		Next   time.Time `json:"next,omitzero"`
	} `json:"now"`
	DNC []journal.DNCEntry `json:"dnc,omitempty"`
	// Zone is the time zone the rules use for the contact (its own, else
	// the campaign's), to show its times in: "MSK", "Asia/Yekaterinburg".
	Zone string `json:"zone"`
}

// Explain answers "why" for contact ref of campaign id: a ЕНП, or a phone
// (the first contact with it). The read of personal data is audited.
func Explain(ctx context.Context, j *journal.Journal, who journal.Actor, id, ref string, now time.Time) (*Why, error) {
	cp, err := j.Campaign(ctx, id)
	if err != nil {
		return nil, err
	}
	enp := strings.TrimSpace(ref)
	if !lists.ValidENP(enp) {
		ph, err := lists.NormalizePhone(ref)
		if err != nil {
			return nil, fmt.Errorf("%w: %q is neither a 16-digit ЕНП nor a phone", journal.ErrInvalid, ref)
		}
		enp = ""
		err = j.Contacts(ctx, id, journal.ContactsFilter{Phone: ph}, func(c *journal.Contact) bool { enp = c.ID; return false })
		if err != nil {
			return nil, err
		}
		if enp == "" {
			return nil, fmt.Errorf("no contact of campaign %s has phone %s: %w", id, ph, journal.ErrNotFound)
		}
	}
	c, err := j.Contact(ctx, who, id, enp)
	if err != nil {
		return nil, err
	}
	w := &Why{Contact: c}
	if w.Attempts, err = j.Attempts(ctx, id, enp, time.Time{}, time.Time{}); err != nil {
		return nil, err
	}
	if w.Skips, err = j.Skips(ctx, id, enp); err != nil {
		return nil, err
	}
	for _, p := range c.Phones {
		if d, err := j.DNC(ctx, p.Number); err == nil {
			w.DNC = append(w.DNC, *d)
		}
	}
	comp, err := CompiledOf(cp)
	if err != nil {
		return nil, err
	}
	set := DNCSet{}
	for _, d := range w.DNC {
		set[d.Phone] = struct{}{}
	}
	comp.Rules.DNC = set
	w.Zone = zoneOf(c, comp.Zone).String()
	w.Now.At = now
	switch c.Status {
	case journal.ContactPending:
		ph, v := comp.Choose(now, c, "")
		w.Now.OK, w.Now.Phone, w.Now.Next = v.OK, ph, v.Next
		if !v.OK {
			w.Now.Reason, w.Now.Why = v.Reason.String(), v.Reason.Russian()
		}
		if v.OK && cp.Status != journal.CampaignRunning {
			w.Now.OK, w.Now.Reason, w.Now.Why = false, "campaign_"+cp.Status.String(), "кампания: "+cp.Status.Russian()
		}
	default:
		w.Now.Reason, w.Now.Why = "contact_"+c.Status.String(), c.Status.Russian()
	}
	if w.Attempts == nil {
		w.Attempts = []journal.Attempt{}
	}
	if w.Skips == nil {
		w.Skips = []journal.Skip{}
	}
	return w, nil
}

// ExportOptions choose what Export writes.
type ExportOptions struct {
	// Format is "csv" or "xlsx".
	Format string
	// CP1251 writes CSV in Windows-1251 (Excel users) instead of UTF-8.
	CP1251 bool
	// MO limits the contacts to one medical organization.
	MO string
}

// ErrBadExport is wrapped by errors about export options.
var ErrBadExport = errors.New("bad export options")

// Export writes a campaign's results: the counts per medical organization
// and in total, then every contact with its result and answers, and
// returns how many contacts it wrote. The read of personal data is
// audited.
func Export(ctx context.Context, j *journal.Journal, who journal.Actor, id string, o ExportOptions, w io.Writer) (int, error) {
	if o.Format != "csv" && o.Format != "xlsx" {
		return 0, fmt.Errorf("%w: format %q: want csv or xlsx", ErrBadExport, o.Format)
	}
	cp, err := j.Campaign(ctx, id)
	if err != nil {
		return 0, err
	}
	sc, _ := ScriptOf(cp)
	f := journal.ContactsFilter{MO: o.MO}
	rep, err := Tally(id, func(fn func(*journal.Contact) bool) error { return j.Contacts(ctx, id, f, fn) })
	if err != nil {
		return 0, err
	}
	counts := lists.Table{Name: "Итоги", Header: CountsHeader}
	for _, m := range rep.ByMO {
		counts.Rows = append(counts.Rows, m.Row())
	}
	total := rep.Total
	total.MOName = "Итого"
	counts.Rows = append(counts.Rows, total.Row())
	people := lists.Table{Name: "Застрахованные", Header: ContactsHeader}
	err = j.Contacts(ctx, id, f, func(c *journal.Contact) bool {
		people.Rows = append(people.Rows, ContactRow(c, sc))
		return true
	})
	if err != nil {
		return 0, err
	}
	if err := j.AuditExport(ctx, who, "campaign:"+id, fmt.Sprintf("%s mo=%q %d contacts", o.Format, o.MO, len(people.Rows))); err != nil {
		return 0, err
	}
	if o.Format == "xlsx" {
		return len(people.Rows), lists.WriteXLSX(w, counts, people)
	}
	return len(people.Rows), lists.WriteCSV(w, o.CP1251, counts, people)
}

// CardRequest is what an operator saves on a survey card.
type CardRequest struct {
	Result  string            `json:"result"`
	Answers map[string]string `json:"answers"`
	Refusal string            `json:"refusal,omitempty"`
	Comment string            `json:"comment,omitempty"`
	// CallbackAt is when to call again (result rescheduled); with
	// CallbackMine the callback is the operator's own.
	CallbackAt   *time.Time `json:"callback_at,omitempty"`
	CallbackMine bool       `json:"callback_mine,omitempty"`
}

// Card is a survey card: the contact, the script to ask and what was
// saved before.
type Card struct {
	Contact *journal.Contact `json:"contact"`
	Script  *Script          `json:"script"`
	// Intro and Closing are the script's texts filled for this contact.
	Intro   string `json:"intro"`
	Closing string `json:"closing,omitempty"`
	// Questions are the script's questions with their text filled.
	Questions []Question `json:"questions"`
	// Mode is the campaign's dialing mode and Running whether it runs:
	// in a running preview campaign the operator dials the card
	// («Позвонить», POST /api/v1/campaigns/{id}/dial).
	Mode    string `json:"mode"`
	Running bool   `json:"running"`
}

// cardContact resolves a card's reference: a contact's ЕНП, or the id of
// one of the campaign's attempts (what the operator's desktop gets with a
// campaign call) for that attempt's contact.
func cardContact(ctx context.Context, j *journal.Journal, id, ref string) (string, error) {
	if lists.ValidENP(ref) {
		return ref, nil
	}
	a, err := j.Attempt(ctx, ref)
	if err != nil || a.Campaign != id {
		return "", fmt.Errorf("%w: %q is neither a 16-digit ЕНП nor an attempt of campaign %s", journal.ErrInvalid, ref, id)
	}
	return a.Contact, nil
}

// CardOf returns the survey card of contact enp (or of an attempt's
// contact: enp may be an attempt id); the read is audited.
func CardOf(ctx context.Context, j *journal.Journal, who journal.Actor, id, enp string) (*Card, error) {
	cp, err := j.Campaign(ctx, id)
	if err != nil {
		return nil, err
	}
	if enp, err = cardContact(ctx, j, id, enp); err != nil {
		return nil, err
	}
	sc, err := ScriptOf(cp)
	if err != nil {
		return nil, err
	}
	c, err := j.Contact(ctx, who, id, enp)
	if err != nil {
		return nil, err
	}
	fields := map[string]string{"name": c.Name, "patronymic": c.Patronymic, "surname": c.Surname, "mo_name": c.MOName,
		"period": c.Period, "diagnosis": c.Diagnosis, "health_group": c.HealthGroup}
	card := &Card{Contact: c, Script: sc, Intro: Fill(sc.Intro, fields), Closing: Fill(sc.Closing, fields),
		Running: cp.Status == journal.CampaignRunning}
	if comp, err := CompiledOf(cp); err == nil {
		card.Mode = comp.Mode.String()
	}
	for _, q := range sc.Questions {
		q.Text = Fill(q.Text, fields)
		card.Questions = append(card.Questions, q)
	}
	return card, nil
}

// SaveCard checks and saves an operator's survey card for contact enp
// (or an attempt's contact: enp may be an attempt id).
func SaveCard(ctx context.Context, j *journal.Journal, who journal.Actor, id, enp string, req CardRequest, now time.Time) (*journal.Contact, error) {
	cp, err := j.Campaign(ctx, id)
	if err != nil {
		return nil, err
	}
	if enp, err = cardContact(ctx, j, id, enp); err != nil {
		return nil, err
	}
	sc, err := ScriptOf(cp)
	if err != nil {
		return nil, err
	}
	comp, err := CompiledOf(cp)
	if err != nil {
		return nil, err
	}
	res, err := ParseResult(req.Result)
	if err != nil {
		return nil, &AnswerError{"result", fmt.Sprintf("%q: want one of %s", req.Result, operatorResults())}
	}
	e := AttemptEnd{Result: res, Answers: req.Answers, Refusal: req.Refusal, Comment: strings.TrimSpace(req.Comment), By: who}
	if req.CallbackAt != nil {
		e.Reschedule = &Reschedule{At: *req.CallbackAt}
		if req.CallbackMine {
			e.Reschedule.Agent = who.Login
		}
	}
	var out *journal.Contact
	err = j.ChangeContact(ctx, id, enp, func(c *journal.Contact) (*journal.ContactChange, error) {
		if c == nil {
			return nil, fmt.Errorf("contact %s: %w", enp, journal.ErrNotFound)
		}
		ch, err := comp.ApplyCard(now, sc, c, e)
		if err != nil {
			return nil, err
		}
		out = ch.Contact
		return ch, nil
	})
	return out, err
}
