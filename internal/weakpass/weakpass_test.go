package weakpass

import (
	"errors"
	"testing"
)

func TestCheck(t *testing.T) {
	cases := []struct {
		secret   string
		min      int
		personal []string
		want     error
	}{
		{"short", 10, nil, ErrTooShort},
		{"password", 8, nil, ErrCommon},
		{"Password2024!", 10, nil, ErrCommon},
		{"qwertyuiop", 10, nil, ErrCommon},
		{"1q2w3e4r5t", 10, nil, ErrCommon},
		{"йцукенгшщз", 10, nil, ErrCommon},
		{"aaaaaaaaaaaa", 10, nil, ErrPattern},
		{"1212121212", 10, nil, ErrPattern},
		{"1234567890", 10, nil, ErrCommon},
		{"2345678901", 10, nil, ErrPattern},
		{"ivanova-phone-7", 10, []string{"ivanova", "1001"}, ErrPersonal},
		{"x7Rk2pQz9wLm", 10, []string{"ivanova", "1001"}, nil},
		{"кот-ходит-по-крыше", 10, nil, nil},
	}
	for _, tc := range cases {
		err := Check(tc.secret, tc.min, tc.personal...)
		if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("Check(%q, %d) = %v, want %v", tc.secret, tc.min, err, tc.want)
		}
	}
}

func TestListLoaded(t *testing.T) {
	if n := len(common()); n < 3000 {
		t.Errorf("common list has %d entries, want > 3000", n)
	}
}
