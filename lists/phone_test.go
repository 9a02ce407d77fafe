package lists

import (
	"errors"
	"testing"
)

func TestNormalizePhone(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"89123456789", "+79123456789", true},
		{"8 (912) 345-67-89", "+79123456789", true},
		{"9123456789", "+79123456789", true},
		{"+7 912 345 67 89", "+79123456789", true},
		{"7 912 345-67-89", "+79123456789", true},
		{" 8-800-200-00-00 ", "+78002000000", true},
		{"8652 12-34-56", "+78652123456", true}, // Stavropol landline, national format
		{"52 12-34-56", "", false},
		{"", "", false},
		{"+8 912 345 67 89", "", false},
		{"+1 212 555 0100", "", false},
		{"8912345678x", "", false},
		{"891234567890", "", false},
	}
	for _, tt := range tests {
		got, err := NormalizePhone(tt.in)
		if tt.ok && (err != nil || got != tt.want) {
			t.Errorf("NormalizePhone(%q) = %q, %v, want %q", tt.in, got, err, tt.want)
		}
		if !tt.ok && !errors.Is(err, ErrPhone) {
			t.Errorf("NormalizePhone(%q) = %q, %v, want ErrPhone", tt.in, got, err)
		}
	}
}
