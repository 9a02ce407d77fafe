package campaigns

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/obzvon/obzvon/journal"
	"github.com/obzvon/obzvon/lists"
	"golang.org/x/text/encoding/charmap"
)

// ErrBadDNC is wrapped by errors about a do-not-call list or request.
var ErrBadDNC = errors.New("bad do-not-call list")

// DNCLine is one phone to put on the do-not-call list.
type DNCLine struct {
	Phone  string `json:"phone"`
	Reason string `json:"reason,omitempty"`
}

// DNCRequest adds phones to the do-not-call list (API and CLI). Source
// is "file" or "api"; Campaign, when set, names the campaign the request
// came from (the list itself holds for every campaign).
type DNCRequest struct {
	Phones   []DNCLine `json:"phones"`
	Reason   string    `json:"reason,omitempty"`
	Campaign string    `json:"campaign,omitempty"`
	Source   string    `json:"-"`
}

// DNCResult is what an addition did: phones checked, and how many of
// them were new on the list (the others were there already).
type DNCResult struct {
	Phones int `json:"phones"`
	Added  int `json:"added"`
}

// maxDNCPhones bounds one request, so that a wrong file (a whole
// register) is refused instead of blocking everybody.
const maxDNCPhones = 1_000_000

// ReadDNC reads a do-not-call file: one phone a line, optionally followed
// by ';', ',' or a tab and a reason. Empty lines and lines starting with
// '#' are skipped, and so is a first line without digits (a header). The
// file is UTF-8 (with or without BOM) or Windows-1251. A line whose phone
// is not a Russian number makes the whole file an error naming the line,
// so a half-read list is never stored.
func ReadDNC(r io.Reader) ([]DNCLine, error) {
	b, err := io.ReadAll(io.LimitReader(r, 256<<20))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadDNC, err)
	}
	b = []byte(strings.TrimPrefix(string(b), "\ufeff"))
	if !utf8.Valid(b) {
		if b, err = charmap.Windows1251.NewDecoder().Bytes(b); err != nil {
			return nil, fmt.Errorf("%w: neither UTF-8 nor Windows-1251: %v", ErrBadDNC, err)
		}
	}
	var out []DNCLine
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		phone, reason := line, ""
		if i := strings.IndexAny(line, ";,\t"); i >= 0 {
			phone, reason = strings.TrimSpace(line[:i]), strings.Trim(strings.TrimSpace(line[i+1:]), `"`)
		}
		phone = strings.Trim(phone, `"`)
		if n == 1 && !strings.ContainsAny(phone, "0123456789") {
			continue
		}
		e, err := lists.NormalizePhone(phone)
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", ErrBadDNC, n, err)
		}
		if len(out) == maxDNCPhones {
			return nil, fmt.Errorf("%w: more than %d phones", ErrBadDNC, maxDNCPhones)
		}
		out = append(out, DNCLine{Phone: e, Reason: reason})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadDNC, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no phone in it", ErrBadDNC)
	}
	return out, nil
}

// AddDNC checks every phone of req (all or nothing: one bad phone is an
// error naming it and nothing is stored) and puts them on the journal's
// do-not-call list. Running campaigns read the list every few seconds and
// dial none of its phones from then on.
func AddDNC(ctx context.Context, j *journal.Journal, who journal.Actor, req DNCRequest) (*DNCResult, error) {
	if len(req.Phones) == 0 {
		return nil, fmt.Errorf("%w: no phone given", ErrBadDNC)
	}
	if len(req.Phones) > maxDNCPhones {
		return nil, fmt.Errorf("%w: more than %d phones", ErrBadDNC, maxDNCPhones)
	}
	if req.Campaign != "" {
		if _, err := j.Campaign(ctx, req.Campaign); err != nil {
			return nil, fmt.Errorf("%w: campaign %q: %v", ErrBadDNC, req.Campaign, err)
		}
	}
	src := req.Source
	if src == "" {
		src = "api"
	}
	entries := make([]journal.DNCEntry, 0, len(req.Phones))
	seen := make(map[string]bool, len(req.Phones))
	for i, p := range req.Phones {
		e, err := lists.NormalizePhone(p.Phone)
		if err != nil {
			return nil, fmt.Errorf("%w: phone %d: %v", ErrBadDNC, i+1, err)
		}
		if seen[e] {
			continue
		}
		seen[e] = true
		reason := p.Reason
		if reason == "" {
			reason = req.Reason
		}
		entries = append(entries, journal.DNCEntry{Phone: e, Source: src, Campaign: req.Campaign, Reason: reason})
	}
	n, err := j.AddDNC(ctx, who, entries)
	if err != nil {
		return nil, err
	}
	return &DNCResult{Phones: len(entries), Added: n}, nil
}

// dncInputError is an ErrBadDNC error whose message says all (no
// "bad do-not-call list" in front of a single phone's problem).
type dncInputError string

func (e dncInputError) Error() string        { return string(e) }
func (e dncInputError) Is(target error) bool { return target == ErrBadDNC }

// NormalizeDNCPhone checks a phone as staff type it ("8 (912) 345-67-89")
// and returns it in E.164, or an ErrBadDNC error naming it.
func NormalizeDNCPhone(phone string) (string, error) {
	if strings.TrimSpace(phone) == "" {
		return "", dncInputError("no phone given")
	}
	e, err := lists.NormalizePhone(phone)
	if err != nil {
		return "", dncInputError(err.Error())
	}
	return e, nil
}

// DNCQuery selects a page of the do-not-call list (API and CLI): Phone
// as staff type it, After the Next of the page before.
type DNCQuery struct {
	Phone string
	After string
	Limit int
}

// ListDNC returns a page of the do-not-call list (audited). A malformed
// phone is an ErrBadDNC error; a phone not on the list gives an empty
// page.
func ListDNC(ctx context.Context, j *journal.Journal, who journal.Actor, q DNCQuery) (*journal.DNCPage, error) {
	jq := journal.DNCQuery{Limit: q.Limit}
	var err error
	if q.Phone != "" {
		if jq.Phone, err = NormalizeDNCPhone(q.Phone); err != nil {
			return nil, err
		}
	}
	if q.After != "" {
		if jq.After, err = NormalizeDNCPhone(q.After); err != nil {
			return nil, dncInputError("after: " + err.Error())
		}
	}
	if q.Limit < 0 || q.Limit > journal.MaxDNCPage {
		return nil, dncInputError(fmt.Sprintf("limit %d: want 1 to %d", q.Limit, journal.MaxDNCPage))
	}
	return j.DNCList(ctx, who, jq)
}

// DNCHeader and DNCRow give the do-not-call list as a table (exports).
var DNCHeader = []string{"Телефон", "Добавлен", "Кем", "Источник", "Кампания", "Причина"}

// DNCRow returns an entry as the cells of DNCHeader, its time in loc.
func DNCRow(d *journal.DNCEntry, loc *time.Location) []string {
	return []string{d.Phone, d.Added.In(loc).Format("2006-01-02 15:04:05 MST"), d.By, DNCSourceRussian(d.Source), d.Campaign, d.Reason}
}

// DNCSourceRussian names where an entry came from, for staff.
func DNCSourceRussian(source string) string {
	switch source {
	case "file":
		return "файл"
	case "api":
		return "вручную"
	case "result":
		return "результат звонка"
	}
	return source
}

// ExportDNC writes the do-not-call list (or the entry of one phone) as
// CSV, UTF-8 or Windows-1251, times in loc, and returns how many phones
// it wrote. The export is audited before anything is written.
func ExportDNC(ctx context.Context, j *journal.Journal, who journal.Actor, phone string, cp1251 bool, loc *time.Location, w io.Writer) (int, error) {
	t := lists.Table{Name: "Не звонить", Header: DNCHeader}
	if phone != "" {
		e, err := NormalizeDNCPhone(phone)
		if err != nil {
			return 0, err
		}
		if d, err := j.DNC(ctx, e); err == nil {
			t.Rows = append(t.Rows, DNCRow(d, loc))
		} else if !errors.Is(err, journal.ErrNotFound) {
			return 0, err
		}
		phone = e
	} else {
		err := j.DNCEach(ctx, func(d *journal.DNCEntry) bool {
			t.Rows = append(t.Rows, DNCRow(d, loc))
			return true
		})
		if err != nil {
			return 0, err
		}
	}
	if err := j.AuditExport(ctx, who, "dnc:"+phone, fmt.Sprintf("csv %d entries", len(t.Rows))); err != nil {
		return 0, err
	}
	return len(t.Rows), lists.WriteCSV(w, cp1251, t)
}

// DNCRemoval is what taking a phone off the do-not-call list did: the
// entry removed, why, and the contacts that may be called on it again.
type DNCRemoval struct {
	Removed  journal.DNCEntry `json:"removed"`
	Reason   string           `json:"reason"`
	Released []DNCReleased    `json:"released"`
}

// DNCReleased is a contact a removal changed: its state after it (a
// pending contact is called when Next comes; an exhausted one says why
// in Block, e.g. max_attempts).
type DNCReleased struct {
	Campaign string                `json:"campaign"`
	Contact  string                `json:"contact"`
	Status   journal.ContactStatus `json:"status"`
	Next     time.Time             `json:"next,omitzero"`
	Block    string                `json:"block,omitempty"`
}

// RemoveDNC takes phone off the do-not-call list because of reason
// (required), audited with who, when and why. In the same transaction
// every contact of a campaign not stopped that has the phone is released
// (Compiled.ReleaseDNC): running campaigns dial it again once their copy
// of the list is refreshed (at most 5 s). A malformed phone, a missing
// reason or a phone not on the list is an error naming it, and nothing
// changes.
func RemoveDNC(ctx context.Context, j *journal.Journal, who journal.Actor, phone, reason string, now time.Time) (*DNCRemoval, error) {
	e, err := NormalizeDNCPhone(phone)
	if err != nil {
		return nil, err
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return nil, dncInputError(fmt.Sprintf("reason: required (why %s may be called again)", e))
	}
	all, err := j.Campaigns(ctx)
	if err != nil {
		return nil, err
	}
	comp := map[string]*Compiled{}
	for i := range all {
		if all[i].Status == journal.CampaignStopped {
			continue
		}
		if cp, err := CompiledOf(&all[i]); err == nil {
			comp[all[i].ID] = cp
		}
	}
	removed, changed, err := j.RemoveDNC(ctx, who, e, reason, func(c *journal.Contact, skips []journal.Skip) (*journal.ContactChange, error) {
		cp := comp[c.Campaign]
		if cp == nil {
			return nil, nil // stopped: its results are final
		}
		return cp.ReleaseDNC(now, c, e, skips), nil
	})
	if err != nil {
		return nil, err
	}
	out := &DNCRemoval{Removed: *removed, Reason: reason, Released: []DNCReleased{}}
	for _, c := range changed {
		out.Released = append(out.Released, DNCReleased{Campaign: c.Campaign, Contact: c.ID, Status: c.Status, Next: c.Next, Block: c.Block})
	}
	return out, nil
}
