package campaigns

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
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
