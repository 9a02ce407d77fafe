package lists

import (
	"bytes"
	"testing"
)

func TestSyntheticRegistry(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteSyntheticRegistry(&buf, 5000, 1); err != nil {
		t.Fatal(err)
	}
	res, err := ReadAll(&buf, FormatCSV, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 5000 || len(res.Errors) != 0 {
		t.Fatalf("synthetic registry read back as %d rows, errors %v; want 5000 valid", len(res.Rows), res.Errors[:min(3, len(res.Errors))])
	}
	phones, women := 0, 0
	for _, r := range res.Rows {
		if r.Phone != "" {
			phones++
		}
		if r.Patronymic[len(r.Patronymic)-2:] == "а" {
			women++
		}
	}
	if phones < 3800 || phones > 4200 || women < 2300 || women > 2700 {
		t.Errorf("phones %d, women %d of 5000; want about 80%% and 50%%", phones, women)
	}
	var again bytes.Buffer
	WriteSyntheticRegistry(&again, 5000, 1)
	var first bytes.Buffer
	WriteSyntheticRegistry(&first, 5000, 1)
	if !bytes.Equal(again.Bytes(), first.Bytes()) {
		t.Error("same seed gave different files")
	}
}
