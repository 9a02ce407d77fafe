package lists

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/charmap"
)

func TestSampleLists(t *testing.T) {
	var want struct {
		Valid     int   `json:"valid"`
		WithPhone int   `json:"with_phone"`
		Rejected  []any `json:"rejected"`
	}
	b, err := os.ReadFile("testdata/expected.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"survey-list.csv", "survey-list-cp1251.csv"} {
		t.Run(name, func(t *testing.T) {
			f, err := os.Open("testdata/" + name)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			res, err := ReadAll(f, FormatOf(name), nil)
			if err != nil {
				t.Fatal(err)
			}
			phones := 0
			for _, r := range res.Rows {
				if r.Phone != "" {
					phones++
				}
			}
			if len(res.Rows) != want.Valid || phones != want.WithPhone || len(res.Errors) != len(want.Rejected) {
				t.Fatalf("ReadAll(%s) = %d valid, %d with phone, %d rejected %v; want %d, %d, %d",
					name, len(res.Rows), phones, len(res.Errors), res.Errors, want.Valid, want.WithPhone, len(want.Rejected))
			}
			r := res.Rows[0]
			if r.Surname != "Васильев" || r.Birth != "1946-07-01" || r.ENP != "2681590830166131" || r.Phone != "+79609139099" || r.MOCode != "260045" || r.Year != 2026 || r.Diagnosis != "I20.8" {
				t.Errorf("first row = %+v", r)
			}
			if res.Rows[2].Phone != "+79955597971" {
				t.Errorf("row 3 phone = %q, want +79955597971 from '8 (995) 559-79-71'", res.Rows[2].Phone)
			}
		})
	}
}

// nasty is a registry in every way lists arrive broken; each line's
// comment says what it tests.
const nasty = "\ufeffФамилия;Имя;Отчество;Дата рождения;ЕНП;Телефон;Примечание\n" +
	"Фёдорова;Мария;Ивановна;04.07.1988;2619482199351819;89937865797;ok\n" + // line 2 ok
	"Иванов;Пётр;;31.02.1980;2619482199351820;;\n" + // 3: 31 February
	"Петров;Иван;Ильич;01.01.1950;26194821993518;;\n" + // 4: 14-digit ENP
	"\"Сидорова\";\"Анна\";\"Павловна\";28141;2619482199351821;;\"многострочное\nпримечание\"\n" + // 5-6: Excel serial date, quoted newline
	"Фёдорова;Мария;Ивановна;04.07.1988;2619482199351819;;повтор\n" + // 7: duplicate ENP of line 2
	"Козлов;Олег;;1975-03-09;2619482199351822;;\n" + // 8: ISO date, empty phone
	"Орлов;Илья;;09.03.1975;2619482199351823;123;\n" + // 9: bad phone
	";;;;;;\n" + // 10: empty row, skipped
	"Белов;;Ильич;09.03.1975;2619482199351824;;\n" + // 11: no name
	"Белова;Инна;;09.03.2099;2619482199351825;;\n" + // 12: born in the future
	"Зуева;Ада;;9.3.75;2 619 482 199 351 826;+7 912 000-00-00;\n" // 13: short date, spaced ENP

func TestNastyCSV(t *testing.T) {
	check := func(t *testing.T, res *Result) {
		t.Helper()
		var lines []int
		for _, r := range res.Rows {
			lines = append(lines, r.Line)
		}
		if got, want := lines, []int{2, 5, 8, 13}; !equal(got, want) {
			t.Errorf("valid rows at lines %v, want %v", got, want)
		}
		var errs []string
		for _, e := range res.Errors {
			errs = append(errs, e.Error())
		}
		want := []string{
			`line 3: Дата рождения: "31.02.1980" is not a real date`,
			`line 4: ЕНП: "26194821993518" is not 16 digits (has 14)`,
			`line 7: ЕНП: duplicate of line 2`,
			`line 9: Телефон: bad phone number: "123" is not a Russian number (+7 and 10 digits)`,
			`line 11: Имя: is empty`,
			`line 12: Дата рождения: 09.03.2099 is not a plausible date of birth`,
		}
		if strings.Join(errs, "\n") != strings.Join(want, "\n") {
			t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(errs, "\n"), strings.Join(want, "\n"))
		}
		if len(res.Rows) == 4 {
			if s := res.Rows[1]; s.Birth != "1977-01-16" || s.Extra["Примечание"] != "многострочное\nпримечание" {
				t.Errorf("row 5 = %+v, want birth 1977-01-16 from serial 28141 and the two-line note", s)
			}
			if z := res.Rows[3]; z.Birth != "1975-03-09" || z.ENP != "2619482199351826" || z.Phone != "+79120000000" {
				t.Errorf("row 13 = %+v", z)
			}
		}
	}
	t.Run("utf8-bom-semicolon", func(t *testing.T) {
		res, err := ReadAll(strings.NewReader(nasty), FormatCSV, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Encoding != "utf-8 bom" || res.Comma != ';' {
			t.Errorf("detected %s %q, want utf-8 bom ';'", res.Encoding, res.Comma)
		}
		check(t, res)
	})
	t.Run("cp1251-comma", func(t *testing.T) {
		text := strings.TrimPrefix(nasty, "\ufeff")
		text = strings.ReplaceAll(text, ";", ",")
		b, err := charmap.Windows1251.NewEncoder().Bytes([]byte(text))
		if err != nil {
			t.Fatal(err)
		}
		res, err := ReadAll(bytes.NewReader(b), FormatUnknown, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Encoding != "windows-1251" || res.Comma != ',' {
			t.Errorf("detected %s %q, want windows-1251 ','", res.Encoding, res.Comma)
		}
		check(t, res)
	})
}

func TestXLSX(t *testing.T) {
	f := excelize.NewFile()
	rows := [][]any{
		{"Surname", "First name", "Patronymic", "Date of birth", "Policy number", "Phone"},
		{"Васильев", "Михаил", "Александрович", 17000, "2681590830166131", 89609139099},
		{"Фёдоров", "Владимир", "", "25.10.1970", "2674911862527601", ""},
		{"Макаров", "Алексей", "", "31.02.2001", "2674650752917034", ""},
	}
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow("Sheet1", cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	style, _ := f.NewStyle(&excelize.Style{NumFmt: 14}) // a date-formatted cell
	_ = f.SetCellStyle("Sheet1", "D2", "D2", style)
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	res, err := ReadAll(&buf, FormatUnknown, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 2 || len(res.Errors) != 1 {
		t.Fatalf("ReadAll(xlsx) = %+v, %v; want 2 rows 1 error", res.Rows, res.Errors)
	}
	if r := res.Rows[0]; r.Birth != "1946-07-17" || r.Phone != "+79609139099" || r.ENP != "2681590830166131" {
		t.Errorf("xlsx row 2 = %+v, want birth 1946-07-17 from serial 17000", r)
	}
	if e := res.Errors[0]; e.Line != 4 || e.Column != "Date of birth" {
		t.Errorf("xlsx error = %v, want line 4 Date of birth", e)
	}
}

func TestHeaderErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "the file is empty"},
		{"Фамилия;Имя;Дата рождения\n", "no column for enp"},
		{"Фамилия;Имя;Дата рождения;ЕНП;Полис\n", `columns "ЕНП" and "Полис" both mean enp`},
	}
	for _, tt := range tests {
		_, err := ReadAll(strings.NewReader(tt.in), FormatCSV, nil)
		if !errors.Is(err, ErrHeader) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ReadAll(%q) = %v, want ErrHeader with %q", tt.in, err, tt.want)
		}
	}
	// A title line above the header is skipped; row lines stay true.
	res, err := ReadAll(strings.NewReader("Список застрахованных на 01.03.2026;;;\n;;;\nФамилия;Имя;Дата рождения;ЕНП\nИванов;Иван;01.02.1990;1111222233334444\n"), FormatCSV, nil)
	if err != nil || len(res.Rows) != 1 || res.Rows[0].Line != 4 {
		t.Errorf("list with a title line = %+v, %v; want one row at line 4", res, err)
	}
	res, err = ReadAll(strings.NewReader("Реестр, выгрузка от 01.03.2026\nФамилия;Имя;Дата рождения;ЕНП\nИванов;Иван;01.02.1990;1111222233334444\n"), FormatCSV, nil)
	if err != nil || len(res.Rows) != 1 || res.Comma != ';' {
		t.Errorf("list with a comma in its title line = %+v, %v; want ';' and one row", res, err)
	}
	// A full-name column stands for the three name columns.
	res, err = ReadAll(strings.NewReader("ФИО,ДР,ЕНП\nИванов Иван Иванович,01.02.1990,1111222233334444\n"), FormatCSV, nil)
	if err != nil || len(res.Rows) != 1 || res.Rows[0].Patronymic != "Иванович" {
		t.Errorf("full-name list = %+v, %v", res, err)
	}
}

func TestParseDate(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"01.07.1946", "1946-07-01"}, {"1.7.1946", "1946-07-01"}, {"01/07/1946", "1946-07-01"}, {"1946-07-01", "1946-07-01"},
		{"17000", "1946-07-17"}, {"01.07.1946 0:00:00", "1946-07-01"}, {"29.02.2024", "2024-02-29"},
		{"29.02.2023", ""}, {"31.02.1980", ""}, {"00.01.1980", ""}, {"01.13.1980", ""}, {"x", ""}, {"01.01.198", ""}, {"-5", ""},
	}
	for _, tt := range tests {
		got, err := ParseDate(tt.in)
		s := ""
		if err == nil {
			s = got.Format(time.DateOnly)
		}
		if s != tt.want {
			t.Errorf("ParseDate(%q) = %q, %v, want %q", tt.in, s, err, tt.want)
		}
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestBrokenQuote(t *testing.T) {
	in := "Фамилия;Имя;Дата рождения;ЕНП\nИв\"анов;Иван;01.01.1990;1111222233334444\nПетров;Пётр;01.01.1990;1111222233334445\n"
	res, err := ReadAll(strings.NewReader(in), FormatCSV, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) != 1 || res.Errors[0].Line != 2 || !strings.Contains(res.Errors[0].Reason, "quot") || len(res.Rows) != 1 {
		t.Fatalf("ReadAll(bare quote) = rows %+v errors %v; want line 2 rejected, line 3 loaded", res.Rows, res.Errors)
	}
}
