package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

func TestRegistryCommands(t *testing.T) {
	dir := t.TempDir()
	list := filepath.Join(t.TempDir(), "list.csv")
	body := "Фамилия;Имя;Отчество;Дата рождения;ЕНП;Телефон\n" +
		"Иванов;Иван;Иванович;01.02.1960;1000000000000001;89000000001\n" +
		"Петров;Пётр;;31.02.1961;1000000000000002;\n"
	if err := os.WriteFile(list, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, "registry", "load", "--dir", dir, "--json", "--max-rejected", "50", list)
	if err != nil {
		t.Fatalf("registry load: %v\n%s", err, out)
	}
	var res struct {
		Rows, Inserted, Rejected int
		Errors                   []struct {
			Line   int
			Column string
			Reason string
		}
	}
	if err := json.NewDecoder(strings.NewReader(out)).Decode(&res); err != nil { // stderr follows
		t.Fatalf("registry load --json printed %q: %v", out, err)
	}
	if res.Rows != 1 || res.Inserted != 1 || res.Rejected != 1 || len(res.Errors) != 1 || res.Errors[0].Line != 3 || res.Errors[0].Column != "Дата рождения" {
		t.Fatalf("registry load --json = %+v", res)
	}
	out, err = runCLI(t, "registry", "search", "--dir", dir, "--surname", "ИВ")
	if err != nil || !strings.Contains(out, "1000000000000001") || !strings.Contains(out, "+79000000001") {
		t.Fatalf("registry search = %q, %v", out, err)
	}
	if _, err := runCLI(t, "registry", "load", "--dir", dir, filepath.Join(dir, "missing.csv")); err == nil {
		t.Fatal("registry load of a missing file succeeded")
	}
}

func TestRegistryGenerateAndLoadXLSX(t *testing.T) {
	dir := t.TempDir()
	csvFile := filepath.Join(t.TempDir(), "gen.csv")
	if _, err := runCLI(t, "registry", "generate", "--rows", "300", csvFile); err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, "registry", "load", "--dir", dir, "--json", csvFile)
	if err != nil || !strings.Contains(out, `"inserted":300`) {
		t.Fatalf("load of generated registry = %q, %v", out, err)
	}

	x := excelize.NewFile()
	rows := [][]any{
		{"Фамилия", "Имя", "Отчество", "Дата рождения", "ЕНП"},
		{"Зуева", "Ада", "Петровна", 28141, "1000000000000009"},
		{"Орлов", "Илья", "", "31.02.1975", "1000000000000010"},
	}
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		x.SetSheetRow("Sheet1", cell, &r)
	}
	xlsx := filepath.Join(t.TempDir(), "list.xlsx")
	if err := x.SaveAs(xlsx); err != nil {
		t.Fatal(err)
	}
	out, err = runCLI(t, "registry", "load", "--dir", dir, "--max-rejected", "60", xlsx)
	if err != nil || !strings.Contains(out, "list.xlsx (xlsx): 1 row loaded: 1 inserted") || !strings.Contains(out, "Дата рождения") {
		t.Fatalf("load of xlsx = %q, %v", out, err)
	}
	out, err = runCLI(t, "registry", "search", "--dir", dir, "--surname", "зуева", "--json")
	if err != nil || !strings.Contains(out, `"birth":"1977-01-16"`) {
		t.Fatalf("search of xlsx person = %q, %v", out, err)
	}
}

// registry load tells everything it did: empty rows counted and named,
// persons with a phone, columns it ignores, the first row errors on stderr
// and all of them in the report file; nothing loaded or too many rejected
// rows end in exit 1.
func TestRegistryLoadReport(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "journal")
	tmp := t.TempDir()
	list := filepath.Join(tmp, "survey.csv")
	body := "Фамилия;Имя;Отчество;Дата рождения;ЕНП;Телефон;Год;Группа здоровья;Диагноз МКБ-10\n" +
		"Иванов;Иван;Иванович;01.02.1960;1000000000000001;89000000001;2026;II;I10\n" +
		";;;;;;;;\n" +
		"Петров;Пётр;;01.03.1961;1000000000000002;;2026;I;\n" +
		"Сидоров;Сидор;;01.04.1962;1000000000000003;89000000003;2026;I;\n" +
		";;;;;;;;\n"
	for i := range 27 { // 27 good rows more: 30 good, 1 bad = 3 % rejected
		body += fmt.Sprintf("Орлов;Олег;;01.05.1970;20000000000000%02d;;2026;I;\n", i)
	}
	body += "Зуев;Олег;;31.02.1961;1000000000000004;;2026;I;\n"
	if err := os.WriteFile(list, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errs, code := runCmd("registry", "load", "--dir", dir, list)
	if code != 0 {
		t.Fatalf("registry load: exit %d\nstdout %s\nstderr %s", code, out, errs)
	}
	for _, want := range []string{"30 rows loaded: 30 inserted, 0 updated, 0 unchanged; 2 with a phone", "1 rejected, 2 empty skipped"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout %q lacks %q", out, want)
		}
	}
	report := filepath.Join(tmp, "survey.errors.csv")
	for _, want := range []string{
		"warning: columns not kept in the registry, ignored: Год, Группа здоровья, Диагноз МКБ-10",
		"warning: 2 empty row(s) skipped: line 3, 6",
		"1 row(s) rejected:", "line 34: Дата рождения:",
		"every rejected row is listed in " + report,
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr %q lacks %q", errs, want)
		}
	}
	if b, err := os.ReadFile(report); err != nil || !strings.Contains(string(b), "34;Дата рождения;") {
		t.Errorf("report %s = %q, %v; want the rejected row", report, b, err)
	}

	// A junk file: nothing loads, errors go to stderr capped at
	// --show-errors, every one to the report, and the exit code is 1.
	junk := filepath.Join(tmp, "junk.csv")
	jb := "Фамилия;Имя;Дата рождения;ЕНП\n"
	for i := range 500 {
		jb += fmt.Sprintf("x%d;y;99.99.9999;123\n", i)
	}
	if err := os.WriteFile(junk, []byte(jb), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errs, code = runCmd("registry", "load", "--dir", dir, "--show-errors", "5", "--report", filepath.Join(tmp, "junk-report.csv"), junk)
	if code != exitFailure || !strings.Contains(errs, "nothing was loaded from "+junk+": 500 row(s) rejected") {
		t.Errorf("junk load: exit %d, stderr %q; want exit 1 and 'nothing was loaded'", code, errs)
	}
	if n := strings.Count(errs, "\n  line "); n != 5 || !strings.Contains(errs, "500 row(s) rejected; the first 5:") {
		t.Errorf("junk load printed %d row errors on stderr, want the first 5:\n%s", n, errs)
	}
	if strings.Count(out, "\n") > 3 {
		t.Errorf("junk load flooded stdout with %d lines", strings.Count(out, "\n"))
	}
	if b, _ := os.ReadFile(filepath.Join(tmp, "junk-report.csv")); strings.Count(string(b), "\n") != 501 {
		t.Errorf("junk report has %d lines, want a header and 500 rows", strings.Count(string(b), "\n"))
	}

	// Over the threshold: the good rows load, the exit code says so.
	half := filepath.Join(tmp, "half.csv")
	hb := "Фамилия;Имя;Дата рождения;ЕНП\nА;Б;01.01.1980;3000000000000001\nВ;Г;31.02.1980;3000000000000002\n"
	if err := os.WriteFile(half, []byte(hb), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errs, code = runCmd("registry", "load", "--dir", dir, "--json", half)
	if code != exitFailure || !strings.Contains(errs, "1 of 2 rows rejected (50.0 %), more than --max-rejected 10 %: the good rows were loaded") {
		t.Errorf("half-bad load: exit %d, stderr %q", code, errs)
	}
	if _, _, code = runCmd("registry", "load", "--dir", dir, "--max-rejected", "60", half); code != 0 {
		t.Errorf("half-bad load with --max-rejected 60: exit %d, want 0", code)
	}
}
