package lists

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/charmap"
)

// Format is the file format of a list.
type Format int

// Formats.
const (
	FormatUnknown Format = iota // FormatUnknown: detect from the content.
	FormatCSV                   // CSV or semicolon-separated text
	FormatXLSX                  // Office Open XML workbook (first sheet)
)

// FormatOf guesses the format from a file name's extension.
func FormatOf(name string) Format {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".xlsx", ".xlsm":
		return FormatXLSX
	case ".csv", ".txt", ".tsv":
		return FormatCSV
	}
	return FormatUnknown
}

// headerSearch is how many leading lines may precede the header.
const headerSearch = 5

// Reader reads rows of a list one at a time, so a registry of millions of
// rows is never held in memory.
type Reader struct {
	next     func() (line int, cells []string, err error)
	closer   func() error
	mapper   *Mapper
	seen     map[uint64]int // ENP -> first line, for duplicates
	Encoding string         // "utf-8", "utf-8 bom" or "windows-1251" (CSV)
	Comma    rune           // the CSV separator found
	// Blank counts the rows after the header with every cell empty
	// (";;;;;;" in a CSV), which Next skips; BlankLines holds the lines of
	// the first MaxBlankLines of them, for the report.
	Blank      int
	BlankLines []int
	// AllowDuplicates returns rows whose ЕНП an earlier row had, instead
	// of rejecting them; the caller merges them (survey lists).
	AllowDuplicates bool
}

// MaxBlankLines is how many blank rows' lines a Reader keeps.
const MaxBlankLines = 20

// NewReader opens a list in format f (FormatUnknown: sniff the content),
// finds its header (the first of the first five lines whose names map
// every required field; nil required means DefaultRequired) and is ready
// to read the rows after it. No such line is an error wrapping ErrHeader
// that describes the first line.
func NewReader(r io.Reader, f Format, required []Field) (*Reader, error) {
	if required == nil {
		required = DefaultRequired
	}
	br := bufio.NewReaderSize(r, 64<<10)
	if f == FormatUnknown {
		head, _ := br.Peek(4)
		if bytes.HasPrefix(head, []byte("PK\x03\x04")) {
			f = FormatXLSX
		} else {
			f = FormatCSV
		}
	}
	lr := &Reader{seen: map[uint64]int{}}
	var err error
	switch f {
	case FormatXLSX:
		err = lr.openXLSX(br)
	default:
		err = lr.openCSV(br)
	}
	if err != nil {
		return nil, err
	}
	// The header is the first line that maps; lists exported from other
	// systems often start with a title or a blank line or two.
	var firstErr error
	for tries := 0; tries < headerSearch; tries++ {
		line, header, err := lr.next()
		if err == io.EOF {
			if firstErr != nil {
				return nil, firstErr
			}
			return nil, fmt.Errorf("%w: the file is empty", ErrHeader)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", ErrHeader, line, err)
		}
		m, err := NewMapper(slices.Clone(header), required)
		if err == nil {
			lr.mapper = m
			return lr, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, firstErr
}

// Mapper returns the header mapping in use.
func (lr *Reader) Mapper() *Mapper { return lr.mapper }

// Next returns the next row. A bad row gives a *RowError (wrapping
// ErrRow) and the caller may go on; io.EOF ends the list; any other error
// means the file itself is broken.
func (lr *Reader) Next() (*Row, error) {
	for {
		line, cells, err := lr.next()
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) && !errors.Is(err, csv.ErrQuote) && !errors.Is(err, csv.ErrBareQuote) {
				return nil, err
			}
			if pe != nil {
				return nil, &RowError{Line: pe.StartLine, Reason: "broken quoting: " + pe.Err.Error()}
			}
			return nil, err
		}
		row, err := lr.mapper.Map(line, cells)
		if err != nil {
			return nil, err
		}
		if row == nil {
			lr.Blank++
			if len(lr.BlankLines) < MaxBlankLines {
				lr.BlankLines = append(lr.BlankLines, line)
			}
			continue
		}
		if row.ENP != "" && !lr.AllowDuplicates {
			k, _ := strconv.ParseUint(row.ENP, 10, 64)
			if first, dup := lr.seen[k]; dup {
				col := "ЕНП"
				for i, f := range lr.mapper.fields {
					if f == FieldENP {
						col = lr.mapper.header[i]
					}
				}
				return nil, &RowError{Line: line, Column: col, Field: FieldENP, Reason: fmt.Sprintf("duplicate of line %d", first)}
			}
			lr.seen[k] = line
		}
		return row, nil
	}
}

// Close releases the reader's resources.
func (lr *Reader) Close() error {
	if lr.closer != nil {
		return lr.closer()
	}
	return nil
}

func (lr *Reader) openCSV(br *bufio.Reader) error {
	head, _ := br.Peek(64 << 10)
	var text io.Reader = br
	switch {
	case bytes.HasPrefix(head, []byte("\xef\xbb\xbf")):
		_, _ = br.Discard(3)
		lr.Encoding = "utf-8 bom"
		head = head[3:]
	case validUTF8Prefix(head):
		lr.Encoding = "utf-8"
	default:
		lr.Encoding = "windows-1251"
		text = charmap.Windows1251.NewDecoder().Reader(br)
		head, _ = charmap.Windows1251.NewDecoder().Bytes(head)
	}
	lr.Comma = sniffComma(head)
	cr := csv.NewReader(text)
	cr.Comma = lr.Comma
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	lr.next = func() (int, []string, error) {
		rec, err := cr.Read()
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return pe.StartLine, nil, err
			}
			return 0, nil, err
		}
		line, _ := cr.FieldPos(0)
		return line, rec, nil
	}
	return nil
}

// validUTF8Prefix reports whether b is UTF-8, allowing a rune cut at the
// end of the peeked window.
func validUTF8Prefix(b []byte) bool {
	for i := 0; i < utf8.UTFMax && len(b) > 0; i++ {
		if utf8.Valid(b) {
			return true
		}
		b = b[:len(b)-1]
	}
	return len(b) == 0
}

// sniffComma picks the separator: the one of ';', ',' and tab that occurs
// most often outside quotes on a single line among the first few (the
// header, or a title line above it).
func sniffComma(head []byte) rune {
	best, bestN := ',', 0
	counts := map[rune]int{}
	quoted, lines := false, 0
	for _, c := range string(head) {
		if c == '"' {
			quoted = !quoted
		}
		if !quoted && c == '\n' {
			lines++
			if lines > headerSearch {
				break
			}
			counts = map[rune]int{}
			continue
		}
		if !quoted && (c == ';' || c == ',' || c == '\t') {
			counts[c]++
			if counts[c] > bestN {
				best, bestN = c, counts[c]
			}
		}
	}
	return best
}

func (lr *Reader) openXLSX(r io.Reader) error {
	f, err := excelize.OpenReader(r)
	if err != nil {
		return fmt.Errorf("%w: not a readable XLSX file: %v", ErrHeader, err)
	}
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		f.Close()
		return fmt.Errorf("%w: the workbook has no sheets", ErrHeader)
	}
	rows, err := f.Rows(sheets[0])
	if err != nil {
		f.Close()
		return fmt.Errorf("%w: sheet %q: %v", ErrHeader, sheets[0], err)
	}
	line := 0
	lr.closer = func() error { rows.Close(); return f.Close() }
	lr.next = func() (int, []string, error) {
		if !rows.Next() {
			if err := rows.Error(); err != nil {
				return line, nil, err
			}
			return line, nil, io.EOF
		}
		line++
		cells, err := rows.Columns(excelize.Options{RawCellValue: true})
		return line, cells, err
	}
	return nil
}

// Result is a whole list read by ReadAll.
type Result struct {
	Rows     []Row
	Errors   []*RowError
	Encoding string
	Comma    rune
}

// ReadAll reads every row of a list (for small lists; use Reader for big
// ones): the good rows and an error per bad row.
func ReadAll(r io.Reader, f Format, required []Field) (*Result, error) {
	lr, err := NewReader(r, f, required)
	if err != nil {
		return nil, err
	}
	defer lr.Close()
	res := &Result{Encoding: lr.Encoding, Comma: lr.Comma}
	for {
		row, err := lr.Next()
		var re *RowError
		switch {
		case err == io.EOF:
			return res, nil
		case errors.As(err, &re):
			res.Errors = append(res.Errors, re)
		case err != nil:
			return res, err
		default:
			res.Rows = append(res.Rows, *row)
		}
	}
}
