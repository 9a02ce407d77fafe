package lists

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"
)

func TestWriteCSVAndXLSX(t *testing.T) {
	tab := Table{Name: "Итоги", Header: []string{"Фамилия", "Имя", "Дата рождения", "ЕНП", "Телефон"},
		Rows: [][]string{{"Фёдорова", "Мария", "1988-07-04", "2619482199351819", "+79937865797"}, {"Кто;то", "Ян", "1990-01-01", "2619482199351820", ""}}}
	var utf, cp, x bytes.Buffer
	if err := WriteCSV(&utf, false, tab); err != nil {
		t.Fatal(err)
	}
	if err := WriteCSV(&cp, true, tab); err != nil {
		t.Fatal(err)
	}
	if err := WriteXLSX(&x, tab); err != nil {
		t.Fatal(err)
	}
	dec, _ := charmap.Windows1251.NewDecoder().Bytes(cp.Bytes())
	if !strings.HasPrefix(utf.String(), "\ufeffФамилия;Имя") || !strings.Contains(string(dec), "Фёдорова;Мария") || !strings.Contains(string(dec), `"Кто;то"`) {
		t.Errorf("csv = %q / cp1251 %q", utf.String(), dec)
	}
	// What we write, we read back: every format.
	for name, b := range map[string][]byte{"utf-8": utf.Bytes(), "cp1251": cp.Bytes(), "xlsx": x.Bytes()} {
		res, err := ReadAll(bytes.NewReader(b), FormatUnknown, nil)
		if err != nil || len(res.Rows) != 2 || res.Rows[0].Surname != "Фёдорова" || res.Rows[1].Surname != "Кто;то" {
			t.Errorf("read back %s = %+v, %v", name, res, err)
		}
	}
}
