package main

import (
	"encoding/json"
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
	out, err := runCLI(t, "registry", "load", "--dir", dir, "--json", list)
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
	if err := json.Unmarshal([]byte(out), &res); err != nil {
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
	out, err = runCLI(t, "registry", "load", "--dir", dir, xlsx)
	if err != nil || !strings.Contains(out, "1 rows: 1 inserted") || !strings.Contains(out, "Дата рождения") {
		t.Fatalf("load of xlsx = %q, %v", out, err)
	}
	out, err = runCLI(t, "registry", "search", "--dir", dir, "--surname", "зуева", "--json")
	if err != nil || !strings.Contains(out, `"birth":"1977-01-16"`) {
		t.Fatalf("search of xlsx person = %q, %v", out, err)
	}
}
