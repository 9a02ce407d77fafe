package lists

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Field is a column of a list that obzvon understands.
type Field int

// Fields.
const (
	FieldUnknown     Field = iota // FieldUnknown: a column kept in Row.Extra.
	FieldSurname                  // Фамилия
	FieldName                     // Имя
	FieldPatronymic               // Отчество
	FieldFullName                 // ФИО in one column, split into the three above
	FieldBirth                    // Дата рождения
	FieldENP                      // ЕНП, the unified policy number
	FieldPhone                    // Телефон
	FieldMOCode                   // Код МО
	FieldMOName                   // Наименование МО
	FieldYear                     // Год
	FieldHealthGroup              // Группа здоровья
	FieldDiagnosis                // Диагноз МКБ-10
	FieldAddress                  // Адрес
	FieldPeriod                   // Период
	FieldZone                     // Часовой пояс
	FieldRegion                   // Код региона (субъекта РФ)
)

var fieldNames = []string{"", "surname", "name", "patronymic", "full_name", "birth", "enp", "phone", "mo_code", "mo_name",
	"year", "health_group", "diagnosis", "address", "period", "zone", "region"}

// String returns the field's code name.
func (f Field) String() string {
	if f < 0 || int(f) >= len(fieldNames) {
		return fmt.Sprintf("field(%d)", int(f))
	}
	return fieldNames[f]
}

// headerSynonyms maps folded header names (see Fold) to fields, Russian
// and English.
var headerSynonyms = map[string]Field{
	"фамилия": FieldSurname, "surname": FieldSurname, "last name": FieldSurname, "lastname": FieldSurname, "family name": FieldSurname,
	"имя": FieldName, "name": FieldName, "first name": FieldName, "firstname": FieldName, "given name": FieldName,
	"отчество": FieldPatronymic, "patronymic": FieldPatronymic, "middle name": FieldPatronymic, "middlename": FieldPatronymic,
	"фио": FieldFullName, "ф и о": FieldFullName, "full name": FieldFullName, "fullname": FieldFullName,
	"дата рождения": FieldBirth, "др": FieldBirth, "д р": FieldBirth, "birth date": FieldBirth, "date of birth": FieldBirth,
	"birthdate": FieldBirth, "dob": FieldBirth, "birth": FieldBirth,
	"енп": FieldENP, "единый номер полиса": FieldENP, "номер полиса": FieldENP, "полис": FieldENP, "полис омс": FieldENP,
	"enp": FieldENP, "policy": FieldENP, "policy number": FieldENP,
	"телефон": FieldPhone, "контактный телефон": FieldPhone, "мобильный телефон": FieldPhone, "тел": FieldPhone,
	"phone": FieldPhone, "mobile": FieldPhone, "tel": FieldPhone, "phone number": FieldPhone,
	"код мо": FieldMOCode, "mo code": FieldMOCode,
	"наименование мо": FieldMOName, "мо": FieldMOName, "медицинская организация": FieldMOName, "mo name": FieldMOName, "clinic": FieldMOName,
	"год": FieldYear, "year": FieldYear,
	"группа здоровья": FieldHealthGroup, "health group": FieldHealthGroup,
	"диагноз мкб 10": FieldDiagnosis, "диагноз": FieldDiagnosis, "мкб 10": FieldDiagnosis, "мкб": FieldDiagnosis,
	"diagnosis": FieldDiagnosis, "icd10": FieldDiagnosis, "icd 10": FieldDiagnosis,
	"адрес": FieldAddress, "адрес регистрации": FieldAddress, "address": FieldAddress,
	"телефон 2": FieldPhone, "телефон 3": FieldPhone, "телефоны": FieldPhone, "доп телефон": FieldPhone,
	"дополнительный телефон": FieldPhone, "домашний телефон": FieldPhone, "рабочий телефон": FieldPhone,
	"phone 2": FieldPhone, "phone2": FieldPhone, "phones": FieldPhone,
	"период": FieldPeriod, "период диспансеризации": FieldPeriod, "отчетный период": FieldPeriod, "period": FieldPeriod,
	"часовой пояс": FieldZone, "time zone": FieldZone, "timezone": FieldZone, "tz": FieldZone,
	"регион": FieldRegion, "код региона": FieldRegion, "субъект рф": FieldRegion, "region": FieldRegion,
}

// multiColumn are the fields that several columns may hold (their values
// are collected in order).
var multiColumn = map[Field]bool{FieldPhone: true}

// Row is one valid, normalized row of a list.
type Row struct {
	// Line is the 1-based line (CSV) or row (XLSX) the row starts on.
	Line       int    `json:"line"`
	Surname    string `json:"surname"`
	Name       string `json:"name"`
	Patronymic string `json:"patronymic,omitempty"`
	// Birth is the date of birth, YYYY-MM-DD.
	Birth string `json:"birth"`
	// ENP is the 16-digit unified policy number.
	ENP string `json:"enp"`
	// Phone is E.164 (+7…), or empty when the list has none: the first
	// of Phones.
	Phone string `json:"phone,omitempty"`
	// Phones are every valid phone of the row, from every phone column
	// (a cell may hold several, separated by , ; or /), without repeats.
	Phones []Phone `json:"phones,omitempty"`
	// Period is the survey period as written (a year, "2026", "I квартал
	// 2026").
	Period string `json:"period,omitempty"`
	// Zone is the time zone column as written (IANA, MSK+2, UTC+5).
	Zone string `json:"zone,omitempty"`
	// Region is the two-digit code of the Russian region, from a region
	// column.
	Region string `json:"region,omitempty"`
	// Warnings are problems that did not reject the row (a bad phone when
	// the mapper keeps bad phones).
	Warnings    []*RowError `json:"warnings,omitempty"`
	MOCode      string      `json:"mo_code,omitempty"`
	MOName      string      `json:"mo_name,omitempty"`
	Year        int         `json:"year,omitempty"`
	HealthGroup string      `json:"health_group,omitempty"`
	Diagnosis   string      `json:"diagnosis,omitempty"`
	Address     string      `json:"address,omitempty"`
	// Extra holds the columns obzvon does not know, by header.
	Extra map[string]string `json:"extra,omitempty"`
}

// RowError says why a row was rejected: its line, the column (as headed in
// the file) and the reason. It wraps ErrRow.
type RowError struct {
	Line   int    `json:"line"`
	Column string `json:"column,omitempty"`
	Field  Field  `json:"-"`
	Reason string `json:"reason"`
}

// ErrRow is wrapped by every *RowError.
var ErrRow = errors.New("bad row")

func (e *RowError) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("line %d: %s", e.Line, e.Reason)
	}
	return fmt.Sprintf("line %d: %s: %s", e.Line, e.Column, e.Reason)
}

// Unwrap returns ErrRow.
func (e *RowError) Unwrap() error { return ErrRow }

// ErrHeader is wrapped by errors about a header that lacks required
// columns; nothing is loaded then.
var ErrHeader = errors.New("bad header")

// Mapper maps the cells of a row to a Row, by the header.
type Mapper struct {
	header  []string
	fields  []Field
	require []Field
	// Now is today's date for birth-date checks (injected for tests).
	Now func() time.Time
	// KeepBadPhones keeps a row whose phone cells are wrong, with the
	// problem in Row.Warnings, instead of rejecting it (survey lists: a
	// person with one bad phone of two is still called on the other).
	KeepBadPhones bool
}

// DefaultRequired are the fields a row must have unless the mapper is
// told otherwise: who the person is and their policy.
var DefaultRequired = []Field{FieldSurname, FieldName, FieldBirth, FieldENP}

// NewMapper maps header names to fields. Every required field must be
// present (a full-name column counts for surname, name and patronymic);
// two columns mapping to one field are an error.
func NewMapper(header []string, required []Field) (*Mapper, error) {
	m := &Mapper{header: header, fields: make([]Field, len(header)), require: required, Now: time.Now}
	have := map[Field]int{}
	for i, h := range header {
		f := headerSynonyms[Fold(h)]
		if f != FieldUnknown && !multiColumn[f] {
			if j, dup := have[f]; dup {
				return nil, fmt.Errorf("%w: columns %q and %q both mean %s", ErrHeader, header[j], h, f)
			}
			have[f] = i
		}
		m.fields[i] = f
	}
	_, full := have[FieldFullName]
	var missing []string
	for _, f := range required {
		if _, ok := have[f]; !ok && !(full && (f == FieldSurname || f == FieldName || f == FieldPatronymic)) {
			missing = append(missing, f.String())
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: no column for %s (header: %s)", ErrHeader, strings.Join(missing, ", "), strings.Join(header, " | "))
	}
	return m, nil
}

// Fields returns the field each column maps to.
func (m *Mapper) Fields() []Field { return m.fields }

// Header returns the column names as the file heads them.
func (m *Mapper) Header() []string { return m.header }

// Map validates and normalizes one row's cells. line is reported in
// errors. A row with every cell empty returns (nil, nil): skip it.
func (m *Mapper) Map(line int, cells []string) (*Row, error) {
	empty := true
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			empty = false
			break
		}
	}
	if empty {
		return nil, nil
	}
	r := &Row{Line: line}
	bad := func(i int, format string, a ...any) (*Row, error) {
		col := ""
		f := FieldUnknown
		if i >= 0 && i < len(m.header) {
			col, f = m.header[i], m.fields[i]
		}
		return nil, &RowError{Line: line, Column: col, Field: f, Reason: fmt.Sprintf(format, a...)}
	}
	if len(cells) > len(m.header) {
		for _, c := range cells[len(m.header):] {
			if strings.TrimSpace(c) != "" {
				return bad(-1, "%d cells, but the header has %d columns", len(cells), len(m.header))
			}
		}
	}
	col := map[Field]int{}
	for i, f := range m.fields {
		v := ""
		if i < len(cells) {
			v = strings.TrimSpace(cells[i])
		}
		if f != FieldUnknown {
			col[f] = i
		}
		switch f {
		case FieldSurname:
			r.Surname = cleanName(v)
		case FieldName:
			r.Name = cleanName(v)
		case FieldPatronymic:
			r.Patronymic = cleanName(v)
		case FieldFullName:
			parts := strings.Fields(v)
			if len(parts) > 0 {
				r.Surname = cleanName(parts[0])
			}
			if len(parts) > 1 {
				r.Name = cleanName(parts[1])
			}
			if len(parts) > 2 {
				r.Patronymic = cleanName(strings.Join(parts[2:], " "))
			}
			col[FieldSurname], col[FieldName], col[FieldPatronymic] = i, i, i
		case FieldBirth:
			if v == "" {
				break
			}
			d, err := ParseDate(v)
			if err != nil {
				return bad(i, "%v", err)
			}
			if now := m.Now(); d.After(now) || d.Year() < 1890 {
				return bad(i, "%s is not a plausible date of birth", d.Format("02.01.2006"))
			}
			r.Birth = d.Format(time.DateOnly)
		case FieldENP:
			v = strings.Map(func(r rune) rune {
				if r == ' ' || r == '-' || r == '\u00a0' {
					return -1
				}
				return r
			}, v)
			if v == "" {
				break
			}
			if e, ok := excelNumber(v); ok {
				v = e
			}
			if !ValidENP(v) {
				return bad(i, "%q is not 16 digits (has %d)", v, countDigits(v))
			}
			r.ENP = v
		case FieldPhone:
			for _, one := range SplitPhones(v) {
				if e, ok := excelNumber(one); ok {
					one = e
				}
				p, err := ParsePhone(one)
				if err != nil {
					if !m.KeepBadPhones {
						return bad(i, "%v", err)
					}
					r.Warnings = append(r.Warnings, &RowError{Line: line, Column: m.header[i], Field: f, Reason: err.Error()})
					continue
				}
				if !slices.ContainsFunc(r.Phones, func(q Phone) bool { return q.E164 == p.E164 }) {
					r.Phones = append(r.Phones, p)
				}
			}
			if len(r.Phones) > 0 {
				r.Phone = r.Phones[0].E164
			}
		case FieldPeriod:
			r.Period = v
		case FieldZone:
			r.Zone = v
		case FieldRegion:
			if v == "" {
				break
			}
			if len(v) == 1 {
				v = "0" + v
			}
			if len(v) != 2 || countDigits(v) != 2 {
				return bad(i, "%q is not a two-digit region code", v)
			}
			r.Region = v
		case FieldMOCode:
			r.MOCode = v
		case FieldMOName:
			r.MOName = v
		case FieldYear:
			if v == "" {
				break
			}
			y, err := strconv.Atoi(v)
			if err != nil || y < 1990 || y > 2100 {
				return bad(i, "%q is not a year", v)
			}
			r.Year = y
		case FieldHealthGroup:
			r.HealthGroup = v
		case FieldDiagnosis:
			r.Diagnosis = strings.ToUpper(v)
		case FieldAddress:
			r.Address = v
		default:
			if v != "" && i < len(m.header) {
				if r.Extra == nil {
					r.Extra = map[string]string{}
				}
				r.Extra[m.header[i]] = v
			}
		}
	}
	have := map[Field]bool{
		FieldSurname: r.Surname != "", FieldName: r.Name != "", FieldPatronymic: r.Patronymic != "",
		FieldBirth: r.Birth != "", FieldENP: r.ENP != "", FieldPhone: r.Phone != "",
		FieldMOCode: r.MOCode != "", FieldMOName: r.MOName != "", FieldYear: r.Year != 0,
	}
	for _, f := range m.require {
		if !have[f] {
			if i, ok := col[f]; ok {
				return bad(i, "is empty")
			}
			return bad(-1, "%s is empty", f)
		}
	}
	return r, nil
}

// cleanName collapses inner spaces of a name; case is kept as written.
func cleanName(s string) string { return strings.Join(strings.Fields(s), " ") }

func countDigits(s string) int {
	n := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			n++
		}
	}
	return n
}

// excelNumber turns a number Excel wrote in exponent or decimal form
// ("2.681590830166131E+15", "89609139099.0") back into its digits.
func excelNumber(s string) (string, bool) {
	if !strings.ContainsAny(s, "eE.") {
		return "", false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f != float64(int64(f)) {
		return "", false
	}
	return strconv.FormatInt(int64(f), 10), true
}

// ParseDate reads a date as Russian lists write it: 31.12.1980, 31.12.80
// (two-digit years are 19xx or 20xx, whichever is not in the future),
// 31/12/1980, 1980-12-31, or an Excel date serial (days since 1899-12-30,
// as XLSX stores dates). Impossible dates like 31.02.1980 are errors.
func ParseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, errors.New("empty date")
	}
	if n, err := strconv.ParseFloat(s, 64); err == nil && !strings.ContainsAny(s, "-/") {
		if n < 1 || n > 2958465 {
			return time.Time{}, fmt.Errorf("%q is not a date", s)
		}
		return time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(n)), nil
	}
	if i := strings.IndexAny(s, " T"); i > 0 {
		s = s[:i] // "01.07.1946 0:00:00" from Excel exports
	}
	var d, m, y int
	var parts []string
	switch {
	case strings.Count(s, ".") == 2:
		parts = strings.Split(s, ".")
	case strings.Count(s, "/") == 2:
		parts = strings.Split(s, "/")
	case strings.Count(s, "-") == 2 && len(s) == 10 && s[4] == '-':
		p := strings.Split(s, "-")
		parts = []string{p[2], p[1], p[0]}
	default:
		return time.Time{}, fmt.Errorf("%q is not a date (want DD.MM.YYYY)", s)
	}
	var err error
	if d, err = strconv.Atoi(parts[0]); err != nil {
		return time.Time{}, fmt.Errorf("%q is not a date (want DD.MM.YYYY)", s)
	}
	if m, err = strconv.Atoi(parts[1]); err != nil {
		return time.Time{}, fmt.Errorf("%q is not a date (want DD.MM.YYYY)", s)
	}
	if y, err = strconv.Atoi(parts[2]); err != nil {
		return time.Time{}, fmt.Errorf("%q is not a date (want DD.MM.YYYY)", s)
	}
	if len(parts[2]) == 2 {
		y += 2000
		if y > time.Now().Year() {
			y -= 100
		}
	} else if len(parts[2]) != 4 {
		return time.Time{}, fmt.Errorf("%q: year %q is not 4 digits", s, parts[2])
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if m < 1 || m > 12 || d < 1 || t.Day() != d || int(t.Month()) != m {
		return time.Time{}, fmt.Errorf("%q is not a real date", s)
	}
	return t, nil
}
