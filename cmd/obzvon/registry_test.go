package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
