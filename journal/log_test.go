package journal

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/obzvon/obzvon/lists"
)

// TestNoPersonalDataInInfoLogs runs the operations that touch personal
// data with an info-level logger and checks that no name, phone, policy
// number or date of birth reaches the log.
func TestNoPersonalDataInInfoLogs(t *testing.T) {
	var buf bytes.Buffer
	o := DefaultOptions(t.TempDir())
	o.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	j, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	ctx := context.Background()
	if _, _, err := j.LoadRegistry(ctx, adm, strings.NewReader(miniRegistry), lists.FormatCSV, "mini.csv"); err != nil {
		t.Fatal(err)
	}
	a := card("89000000001", "1000000000000001")
	if err := j.CreateAppeal(ctx, op1, a); err != nil {
		t.Fatal(err)
	}
	j.SearchPersons(ctx, op1, PersonQuery{Surname: "Иванов"})
	j.History(ctx, op1, HistoryQuery{Phone: "89000000001"})
	j.Move(ctx, op1, a.ID, Step{Move: MoveClose, Resolution: ResolutionExplained, Comment: "ok"})
	if !strings.Contains(buf.String(), "registry loaded") {
		t.Fatalf("the info log is missing the load message, so this test checks nothing:\n%s", buf.String())
	}
	for _, pd := range []string{"Иванов", "иванов", "Иванова", "9000000001", "1000000000000001", "1960-02-01", "01.02.1960"} {
		if strings.Contains(buf.String(), pd) {
			t.Errorf("info log contains personal data %q:\n%s", pd, buf.String())
		}
	}
}
