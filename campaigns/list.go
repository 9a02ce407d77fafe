package campaigns

import (
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/obzvon/obzvon/journal"
	"github.com/obzvon/obzvon/lists"
)

// Survey lists.
//
// ReadList reads a campaign's list (CSV or XLSX, see package lists) into
// contacts: one per person (ЕНП), rows of the same person merged, every
// phone of every phone column kept, the time zone taken from the list, the
// region or the medical organization's code, or a fixed-line phone. Bad
// rows are reported with their line and column and skipped; a file that
// cannot be read at all is an error and nothing is returned, so a load is
// all or nothing on a fatal error.

// ListResult is a list read by ReadList.
type ListResult struct {
	Contacts []journal.Contact `json:"-"`
	// Rows counts the valid rows read; Merged the rows that were another
	// row's person and were merged into it.
	Rows   int `json:"rows"`
	Merged int `json:"merged"`
	// WithPhone counts contacts with at least one valid phone.
	WithPhone int               `json:"with_phone"`
	Errors    []*lists.RowError `json:"errors"`
	Warnings  []*lists.RowError `json:"warnings,omitempty"`
	Encoding  string            `json:"encoding,omitempty"`
	// Zones counts contacts by where their zone came from.
	Zones map[string]int `json:"zones,omitempty"`
}

// ListRequired are the columns a survey list must have.
var ListRequired = []lists.Field{lists.FieldSurname, lists.FieldName, lists.FieldBirth, lists.FieldENP}

// ReadList reads a survey list from r. progress, if not nil, is called
// every 1000 rows with the rows read so far.
func ReadList(r io.Reader, f lists.Format, progress func(rows int)) (*ListResult, error) {
	lr, err := lists.NewReader(r, f, ListRequired)
	if err != nil {
		return nil, err
	}
	defer lr.Close()
	lr.AllowDuplicates = true
	lr.Mapper().KeepBadPhones = true
	res := &ListResult{Encoding: lr.Encoding, Zones: map[string]int{}}
	index := map[string]int{} // ENP -> index in Contacts
	for {
		row, err := lr.Next()
		var re *lists.RowError
		switch {
		case err == io.EOF:
			for i := range res.Contacts {
				c := &res.Contacts[i]
				if c.HasPhone() {
					res.WithPhone++
				}
				res.Zones[c.ZoneFrom]++
			}
			return res, nil
		case errors.As(err, &re):
			res.Errors = append(res.Errors, re)
			continue
		case err != nil:
			return nil, fmt.Errorf("read list: %w", err)
		}
		res.Rows++
		if progress != nil && res.Rows%1000 == 0 {
			progress(res.Rows)
		}
		res.Warnings = append(res.Warnings, row.Warnings...)
		if i, dup := index[row.ENP]; dup {
			c := &res.Contacts[i]
			if lists.Fold(c.Surname) != lists.Fold(row.Surname) || c.Birth != row.Birth {
				res.Errors = append(res.Errors, &lists.RowError{Line: row.Line, Column: "ЕНП", Field: lists.FieldENP,
					Reason: fmt.Sprintf("the same ЕНП as line %d but another person (%s, %s)", c.Line, row.Surname, row.Birth)})
				res.Rows--
				continue
			}
			for _, p := range row.Phones {
				if !slices.ContainsFunc(c.Phones, func(q journal.ContactPhone) bool { return q.Number == p.E164 }) {
					c.Phones = append(c.Phones, journal.ContactPhone{Number: p.E164, Type: p.Type})
				}
			}
			res.Merged++
			continue
		}
		c, rerr := contactOf(row)
		if rerr != nil {
			res.Errors = append(res.Errors, rerr)
			res.Rows--
			continue
		}
		index[row.ENP] = len(res.Contacts)
		res.Contacts = append(res.Contacts, c)
	}
}

// contactOf maps a list row to a contact, with its time zone.
func contactOf(row *lists.Row) (journal.Contact, *lists.RowError) {
	c := journal.Contact{ID: row.ENP, Surname: row.Surname, Name: row.Name, Patronymic: row.Patronymic, Birth: row.Birth,
		MOCode: row.MOCode, MOName: row.MOName, Period: row.Period, HealthGroup: row.HealthGroup, Diagnosis: row.Diagnosis,
		Line: row.Line}
	if c.Period == "" && row.Year != 0 {
		c.Period = fmt.Sprint(row.Year)
	}
	for _, p := range row.Phones {
		c.Phones = append(c.Phones, journal.ContactPhone{Number: p.E164, Type: p.Type})
	}
	switch {
	case row.Zone != "":
		if _, err := LoadZone(row.Zone); err != nil {
			return c, &lists.RowError{Line: row.Line, Column: "Часовой пояс", Field: lists.FieldZone,
				Reason: fmt.Sprintf("%q is not a time zone (want Europe/Moscow, MSK+2 or UTC+5)", row.Zone)}
		}
		c.Zone, c.ZoneFrom = row.Zone, "list"
	case row.Region != "":
		z, ok := RegionZone(row.Region)
		if !ok {
			return c, &lists.RowError{Line: row.Line, Column: "Регион", Field: lists.FieldRegion,
				Reason: fmt.Sprintf("%q is not a code of a Russian region", row.Region)}
		}
		c.Zone, c.ZoneFrom = z, "region"
	default:
		if len(row.MOCode) >= 2 {
			if z, ok := RegionZone(row.MOCode[:2]); ok {
				c.Zone, c.ZoneFrom = z, "mo_code"
				break
			}
		}
		for _, p := range row.Phones {
			if p.Zone != "" {
				c.Zone, c.ZoneFrom = p.Zone, "phone"
				break
			}
		}
	}
	if c.ZoneFrom == "" {
		c.ZoneFrom = "campaign"
	}
	return c, nil
}

// regionOffsets maps the codes of Russia's regions (субъекты РФ, as in
// vehicle plates and the first digits of medical organizations' registry
// codes) to their UTC offset in hours. Sakha spans three zones: its
// capital's is used.
var regionOffsets = map[string]int{
	"39": 2,
	"01": 3, "05": 3, "06": 3, "07": 3, "08": 3, "09": 3, "10": 3, "11": 3, "12": 3, "13": 3, "15": 3, "16": 3,
	"20": 3, "21": 3, "23": 3, "26": 3, "29": 3, "31": 3, "32": 3, "33": 3, "34": 3, "35": 3, "36": 3, "37": 3,
	"40": 3, "43": 3, "44": 3, "46": 3, "47": 3, "48": 3, "50": 3, "51": 3, "52": 3, "53": 3, "57": 3, "58": 3,
	"60": 3, "61": 3, "62": 3, "67": 3, "68": 3, "69": 3, "71": 3, "76": 3, "77": 3, "78": 3, "83": 3, "91": 3,
	"92": 3,
	"18": 4, "30": 4, "63": 4, "64": 4, "73": 4,
	"02": 5, "45": 5, "56": 5, "59": 5, "66": 5, "72": 5, "74": 5, "86": 5, "89": 5,
	"55": 6,
	"04": 7, "17": 7, "19": 7, "22": 7, "24": 7, "42": 7, "54": 7, "70": 7,
	"03": 8, "38": 8,
	"14": 9, "28": 9, "75": 9,
	"25": 10, "27": 10, "79": 10,
	"49": 11, "65": 11,
	"41": 12, "87": 12,
}

// RegionZone returns the time zone (MSK±N) of a two-digit Russian region
// code.
func RegionZone(code string) (string, bool) {
	h, ok := regionOffsets[code]
	if !ok {
		return "", false
	}
	loc, _ := RussianZone(h)
	return loc.String(), true
}
