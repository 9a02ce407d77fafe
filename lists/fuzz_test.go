package lists

import (
	"strings"
	"testing"
	"time"
)

// FuzzMapRow feeds arbitrary headers and cells to the row mapper: it must
// never panic, and every row it accepts must be normalized.
func FuzzMapRow(f *testing.F) {
	f.Add("Фамилия;Имя;Отчество;Дата рождения;ЕНП;Телефон", "Иванов;Иван;;01.02.1990;1111222233334444;8 912 345 67 89")
	f.Add("ФИО;ДР;Полис;Год", "Петров  Пётр;31.02.1980;12;2026")
	f.Add("surname;name;dob;enp;phone", "A;B;45000;2.681590830166131E+15;89609139099.0")
	f.Fuzz(func(t *testing.T, header, row string) {
		m, err := NewMapper(strings.Split(header, ";"), DefaultRequired)
		if err != nil {
			return
		}
		r, err := m.Map(2, strings.Split(row, ";"))
		if err != nil || r == nil {
			return
		}
		if !ValidENP(r.ENP) {
			t.Errorf("accepted ENP %q", r.ENP)
		}
		if _, err := time.Parse(time.DateOnly, r.Birth); err != nil {
			t.Errorf("accepted birth %q", r.Birth)
		}
		if r.Phone != "" && (len(r.Phone) != 12 || !strings.HasPrefix(r.Phone, "+7")) {
			t.Errorf("accepted phone %q", r.Phone)
		}
		if r.Surname == "" || r.Name == "" {
			t.Errorf("accepted row without surname or name: %+v", r)
		}
	})
}

// FuzzReadCSV feeds arbitrary bytes to the CSV reader: no panics, and
// bad rows come back as row errors or a file error, never as rows with
// invalid fields.
func FuzzReadCSV(f *testing.F) {
	f.Add([]byte(nasty))
	f.Add([]byte("Фамилия,Имя,Дата рождения,ЕНП\n\"Ив\"\"анов\",Иван,01.01.1990,1111222233334444\n"))
	f.Add([]byte("\xd4\xe0\xec\xe8\xeb\xe8\xff;\xc8\xec\xff;\xc4\xc0\xd2\xc0;\xc5\xcd\xcf\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		res, err := ReadAll(strings.NewReader(string(b)), FormatCSV, nil)
		if err != nil {
			return
		}
		for _, r := range res.Rows {
			if !ValidENP(r.ENP) || r.Birth == "" {
				t.Errorf("accepted row %+v", r)
			}
		}
	})
}
