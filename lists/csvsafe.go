package lists

import (
	"encoding/csv"
	"io"
	"regexp"
)

// plainNumber is a cell a spreadsheet reads as a number and nothing
// else: a sign, digits, one decimal point or comma ("+79161234567",
// "-5", "3,14"). Such cells are left as they are.
var plainNumber = regexp.MustCompile(`^[+-]?[0-9]+([.,][0-9]+)?$`)

// CSVCell makes s safe to open in a spreadsheet (OWASP "CSV Injection"):
// a cell starting with =, +, -, @, a tab or a carriage return is read by
// Excel and LibreOffice as a formula (=HYPERLINK(…) sends data away,
// =cmd|… ran programs), so it gets a leading ' that makes it text. Plain
// numbers, phone numbers with + included, are left alone.
func CSVCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		if plainNumber.MatchString(s) {
			return s
		}
		return "'" + s
	}
	return s
}

// CSVWriter is a csv.Writer that passes every cell through CSVCell. Every
// CSV the appliance writes goes through one.
type CSVWriter struct {
	*csv.Writer
}

// NewCSVWriter returns a CSVWriter on w with the given separator.
func NewCSVWriter(w io.Writer, comma rune) *CSVWriter {
	cw := csv.NewWriter(w)
	cw.Comma = comma
	return &CSVWriter{cw}
}

// Write escapes and writes one record.
func (w *CSVWriter) Write(record []string) error { return w.Writer.Write(csvCells(record)) }

// csvCells returns record with every cell passed through CSVCell.
func csvCells(record []string) []string {
	out := make([]string, len(record))
	for i, s := range record {
		out[i] = CSVCell(s)
	}
	return out
}
