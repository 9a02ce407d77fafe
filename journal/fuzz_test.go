package journal

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzAppealJSON decodes arbitrary JSON as an appeal card (what the API
// will receive): decoding and validation never panic, and a valid card
// survives an encode/decode round trip unchanged.
func FuzzAppealJSON(f *testing.F) {
	f.Add([]byte(`{"channel":"phone","phone":"8 912 345-67-89","kind":"complaint","topic":"compl-quality","text":"Жалоба","person":{"surname":"Иванова","birth":"1980-05-17","enp":"2681590830166131"}}`))
	f.Add([]byte(`{"channel":"По телефону","kind":"Жалоба","topic":"x","text":" ","status":"closed","due":"2026-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"kind":"rant"}`))
	f.Add([]byte(`{"history":[{"move":"approve","role":"admin"}],"links":["a","a"]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var a Appeal
		if json.Unmarshal(data, &a) != nil {
			return
		}
		if validateCard(&a) != nil {
			return
		}
		b, err := json.Marshal(&a)
		if err != nil {
			t.Fatalf("Marshal(valid card) = %v", err)
		}
		var back Appeal
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("Unmarshal(Marshal(card)) = %v\n%s", err, b)
		}
		if !reflect.DeepEqual(a.Person, back.Person) || a.Kind != back.Kind || a.Channel != back.Channel || a.Phone != back.Phone || a.Text != back.Text {
			t.Fatalf("round trip changed the card:\n%+v\n%+v", a, back)
		}
		if a.Phone != "" && (len(a.Phone) != 12 || a.Phone[:2] != "+7") {
			t.Fatalf("valid card has phone %q", a.Phone)
		}
	})
}

// FuzzStepJSON decodes arbitrary workflow steps and applies them: never a
// panic, and an accepted step always leaves a known status and a history
// entry.
func FuzzStepJSON(f *testing.F) {
	f.Add([]byte(`{"move":"close","resolution":"forwarded","comment":"x","to":"op2"}`), uint8(1), uint8(1))
	f.Add([]byte(`{"move":"close","resolution":"extended","comment":"x","new_due":"2099-01-01T00:00:00Z"}`), uint8(1), uint8(7))
	f.Add([]byte(`{"move":"approve"}`), uint8(3), uint8(7))
	f.Fuzz(func(t *testing.T, data []byte, status, role uint8) {
		var s Step
		if json.Unmarshal(data, &s) != nil {
			return
		}
		a := appealIn(Status(status % 6))
		n, err := Apply(a, s, Actor{"op1", Role(role % 11)}, t0)
		if err != nil {
			return
		}
		if n.Status < StatusInWork || n.Status > StatusClosed || len(n.History) != len(a.History)+1 {
			t.Fatalf("Apply(%s) accepted into status %v with %d history entries", data, n.Status, len(n.History))
		}
	})
}
