package campaigns

import (
	"maps"
	"testing"
)

func TestIVRInformingScript(t *testing.T) {
	s, err := BuiltinScript("informing")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		keys     []string // "" is no answer
		want     map[string]string
		complete bool
	}{
		{"passed: yes ends", []string{"1"}, map[string]string{"passed": "yes"}, true},
		{"not passed, wants a callback", []string{"2", "1"}, map[string]string{"passed": "no", "callback": "yes"}, true},
		{"a wrong key, then the right one", []string{"7", "2", "2"}, map[string]string{"passed": "no", "callback": "no"}, true},
		{"silence three times gives up", []string{"", "", ""}, map[string]string{}, false},
		{"answered, then silent", []string{"2", "", "9", ""}, map[string]string{"passed": "no"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := NewIVR(s)
			for _, k := range tc.keys {
				if v.Question() == nil {
					t.Fatalf("IVR ended before keys %q", k)
				}
				if k == "" {
					v.NoAnswer()
				} else {
					v.Answer(k)
				}
			}
			if q := v.Question(); q != nil {
				t.Errorf("after %q the IVR still asks %s", tc.keys, q.ID)
			}
			if got := v.Answers(); !maps.Equal(got, tc.want) {
				t.Errorf("Answers() = %v, want %v", got, tc.want)
			}
			if v.Complete() != tc.complete {
				t.Errorf("Complete() = %v, want %v", v.Complete(), tc.complete)
			}
			if _, err := s.CheckAnswers(v.Answers(), false); err != nil {
				t.Errorf("the script refuses the IVR's answers: %v", err)
			}
		})
	}
}
