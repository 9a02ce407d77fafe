package lists

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
)

// Table is one sheet of an export.
type Table struct {
	Name   string
	Header []string
	Rows   [][]string
}

// WriteCSV writes tables as semicolon-separated CSV (as Excel in a Russian
// locale opens by double click), one after another separated by an empty
// line: UTF-8 with a BOM, or Windows-1251 when cp1251 is set (characters
// it lacks become "?").
func WriteCSV(w io.Writer, cp1251 bool, tables ...Table) error {
	bw := bufio.NewWriter(w)
	var out io.Writer = bw
	if cp1251 {
		out = encoding.ReplaceUnsupported(charmap.Windows1251.NewEncoder()).Writer(bw)
	} else if _, err := bw.WriteString("\ufeff"); err != nil {
		return err
	}
	cw := csv.NewWriter(out)
	cw.Comma = ';'
	cw.UseCRLF = true
	for i, t := range tables {
		if i > 0 {
			if err := cw.Write(nil); err != nil {
				return err
			}
		}
		// Every cell through CSVCell: formula injection (OWASP).
		if err := cw.Write(csvCells(t.Header)); err != nil {
			return err
		}
		for _, r := range t.Rows {
			if err := cw.Write(csvCells(r)); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}

// WriteXLSX writes tables as the sheets of one workbook.
func WriteXLSX(w io.Writer, tables ...Table) error {
	f := excelize.NewFile()
	defer f.Close()
	for i, t := range tables {
		name := t.Name
		if name == "" {
			name = fmt.Sprintf("Лист%d", i+1)
		}
		if i == 0 {
			if err := f.SetSheetName("Sheet1", name); err != nil {
				return err
			}
		} else if _, err := f.NewSheet(name); err != nil {
			return err
		}
		sw, err := f.NewStreamWriter(name)
		if err != nil {
			return err
		}
		row := make([]any, len(t.Header))
		for j, h := range t.Header {
			row[j] = h
		}
		if err := sw.SetRow("A1", row); err != nil {
			return err
		}
		for k, r := range t.Rows {
			cells := make([]any, len(r))
			for j, c := range r {
				cells[j] = c
			}
			cell, _ := excelize.CoordinatesToCellName(1, k+2)
			if err := sw.SetRow(cell, cells); err != nil {
				return err
			}
		}
		if err := sw.Flush(); err != nil {
			return err
		}
	}
	return f.Write(w)
}
