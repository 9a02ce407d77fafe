package lists

import (
	"errors"
	"fmt"
	"strings"
)

// ErrPhone is wrapped by every phone normalization error.
var ErrPhone = errors.New("bad phone number")

// NormalizePhone turns a Russian phone number as people type it into
// E.164: "8 (912) 345-67-89", "89123456789", "9123456789", "+7 912 345 67 89"
// and "7 912 345-67-89" all become "+79123456789". Spaces, dashes, dots and
// parentheses are ignored. Only Russian numbers (+7, ten national digits)
// are accepted; an empty string is an error wrapping ErrPhone.
func NormalizePhone(s string) (string, error) {
	in := strings.TrimSpace(s)
	var d []byte
	for i, r := range in {
		switch {
		case r >= '0' && r <= '9':
			d = append(d, byte(r))
		case r == '+' && i == 0:
		case r == ' ' || r == '-' || r == '(' || r == ')' || r == '.' || r == '\u00a0':
		default:
			return "", fmt.Errorf("%w: %q has %q", ErrPhone, s, r)
		}
	}
	plus := strings.HasPrefix(in, "+")
	switch {
	case len(d) == 0:
		return "", fmt.Errorf("%w: empty", ErrPhone)
	case len(d) == 10 && !plus:
		// national number without trunk prefix: 9123456789
	case len(d) == 11 && d[0] == '8' && !plus:
		d = d[1:]
	case len(d) == 11 && d[0] == '7':
		d = d[1:]
	default:
		return "", fmt.Errorf("%w: %q is not a Russian number (+7 and 10 digits)", ErrPhone, s)
	}
	return "+7" + string(d), nil
}
