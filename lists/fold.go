package lists

import (
	"strings"
	"unicode"
)

// Fold normalizes a name for matching: lower case, ё → е, letters kept,
// runs of spaces, dashes and other separators collapsed to one space,
// surrounding space dropped. "  Фёдорова-Ершова " → "федорова ершова".
func Fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch {
		case r == 'ё' || r == 'Ё':
			r = 'е'
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			r = unicode.ToLower(r)
		default:
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// ValidENP reports whether s is a unified policy number (ЕНП): exactly 16
// decimal digits.
func ValidENP(s string) bool {
	if len(s) != 16 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
