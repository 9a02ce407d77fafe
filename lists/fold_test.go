package lists

import "testing"

func TestFold(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Фёдорова", "федорова"},
		{"  ФЁДОРОВА-Ершова  ", "федорова ершова"},
		{"Иван  Ильич", "иван ильич"},
		{"", ""},
		{"O'Нил", "o нил"},
	}
	for _, tt := range tests {
		if got := Fold(tt.in); got != tt.want {
			t.Errorf("Fold(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestValidENP(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"2681590830166131", true}, {"26815908301661", false}, {"26815908301661310", false}, {"268159083016613a", false}, {"", false},
	}
	for _, tt := range tests {
		if got := ValidENP(tt.in); got != tt.want {
			t.Errorf("ValidENP(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
