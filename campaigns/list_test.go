package campaigns

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"

	"github.com/obzvon/obzvon/lists"
)

func TestReadSampleLists(t *testing.T) {
	for _, name := range []string{"survey-list.csv", "survey-list-cp1251.csv"} {
		t.Run(name, func(t *testing.T) {
			f, err := os.Open("testdata/" + name)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			res, err := ReadList(f, lists.FormatCSV, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Contacts) != 60 || res.WithPhone != 51 || len(res.Errors) != 0 {
				t.Fatalf("ReadList(%s) = %d contacts, %d with phone, errors %v; want 60, 51, none", name, len(res.Contacts), res.WithPhone, res.Errors)
			}
			c := res.Contacts[0]
			if c.ID != "2681590830166131" || c.Zone != "MSK" || c.ZoneFrom != "mo_code" || c.Period != "2026" || c.Diagnosis != "I20.8" || c.Phones[0].Type != "mobile" {
				t.Errorf("first contact = %+v", c)
			}
		})
	}
}

// badList is a survey list broken in the ways lists arrive broken.
const badList = "Фамилия;Имя;Отчество;Дата рождения;ЕНП;Телефон;Телефон 2;Код МО;Часовой пояс\n" +
	"Фёдорова;Мария;Ивановна;04.07.1988;2619482199351819;89937865797;;260001;\n" + // 2 ok, zone from MO code
	"Иванов;Пётр;;31.02.1980;2619482199351820;89120000000;;260001;\n" + // 3: 31 February
	"Петров;Иван;Ильич;01.01.1950;26194821993518;89120000001;;260001;\n" + // 4: 14-digit policy
	"Сид\"орова;Анна;;01.01.1950;2619482199351821;89120000002;;260001;\n" + // 5: stray quote
	"Фёдорова;Мария;Ивановна;04.07.1988;2619482199351819;89120000003;8 (495) 123-45-67;260001;\n" + // 6: same person: merged
	"Козлов;Олег;;1975-03-09;2619482199351822;123;89120000004;660001;\n" + // 7: one bad phone of two; Yekaterinburg MO
	"Орлов;Илья;;09.03.1975;2619482199351823;;;;Asia/Vladivostok\n" + // 8: zone column, no phone
	"Белова;Инна;;09.03.1975;2619482199351819;89120000005;;;\n" + // 9: same ЕНП, another person
	"Зуева;Ада;;09.03.1975;2619482199351824;89120000006;;;Марс\n" // 10: bad zone

func TestReadBadList(t *testing.T) {
	check := func(t *testing.T, b []byte) {
		res, err := ReadList(bytes.NewReader(b), lists.FormatUnknown, nil)
		if err != nil {
			t.Fatal(err)
		}
		var errs []string
		for _, e := range res.Errors {
			errs = append(errs, e.Error())
		}
		want := []string{
			`line 3: Дата рождения: "31.02.1980" is not a real date`,
			`line 4: ЕНП: "26194821993518" is not 16 digits (has 14)`,
			`line 5: broken quoting`,
			`line 9: ЕНП: the same ЕНП as line 2 but another person`,
			`line 10: Часовой пояс: "Марс" is not a time zone`,
		}
		got := strings.Join(errs, "\n")
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("errors:\n%s\nwant one with %q", got, w)
			}
		}
		if len(errs) != len(want) {
			t.Errorf("%d errors, want %d:\n%s", len(errs), len(want), got)
		}
		if len(res.Warnings) != 1 || res.Warnings[0].Line != 7 || res.Warnings[0].Column != "Телефон" {
			t.Errorf("warnings = %v, want line 7 Телефон", res.Warnings)
		}
		if len(res.Contacts) != 3 || res.Merged != 1 {
			t.Fatalf("contacts %d merged %d, want 3 and 1", len(res.Contacts), res.Merged)
		}
		m := res.Contacts[0]
		if len(m.Phones) != 3 || m.Phones[2].Type != "fixed" || m.Zone != "MSK" {
			t.Errorf("merged contact = %+v, want 3 phones (the last fixed), zone MSK", m)
		}
		if k := res.Contacts[1]; len(k.Phones) != 1 || k.Zone != "MSK+2" || k.ZoneFrom != "mo_code" {
			t.Errorf("Kozlov = %+v, want one phone, MSK+2 from the MO code", k)
		}
		if o := res.Contacts[2]; o.Zone != "Asia/Vladivostok" || o.HasPhone() {
			t.Errorf("Orlov = %+v", o)
		}
	}
	t.Run("utf-8", func(t *testing.T) { check(t, []byte(badList)) })
	t.Run("cp1251", func(t *testing.T) {
		b, err := charmap.Windows1251.NewEncoder().Bytes([]byte(badList))
		if err != nil {
			t.Fatal(err)
		}
		check(t, b)
	})
	t.Run("fatal: no ЕНП column", func(t *testing.T) {
		_, err := ReadList(strings.NewReader("Фамилия;Имя;Дата рождения\nИванов;Иван;01.01.1990\n"), lists.FormatCSV, nil)
		if err == nil || !strings.Contains(err.Error(), "no column for enp") {
			t.Errorf("ReadList without ЕНП = %v", err)
		}
	})
}

func TestRegionZone(t *testing.T) {
	for code, want := range map[string]string{"26": "MSK", "39": "MSK-1", "66": "MSK+2", "41": "MSK+9", "25": "MSK+7"} {
		if z, ok := RegionZone(code); !ok || z != want {
			t.Errorf("RegionZone(%s) = %q, %v, want %s", code, z, ok, want)
		}
	}
	if _, ok := RegionZone("00"); ok {
		t.Errorf("RegionZone(00) ok")
	}
	if len(regionOffsets) < 85 {
		t.Errorf("%d regions, want every one (85+)", len(regionOffsets))
	}
}
