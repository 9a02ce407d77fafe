package journal

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// MaxDisplayName is the longest display name or organization, in
// characters: a full Russian name with patronymic is under 80, an
// organization's full name rarely over 150.
const MaxDisplayName = 200

// validText checks a single-line text field that people read in lists and
// on the desktop: valid UTF-8, no control characters (tabs and newlines
// included), no bidirectional overrides that reorder what is shown
// (U+202A–U+202E, U+2066–U+2069), at most max characters.
func validText(field, s string, max int) error {
	if !utf8.ValidString(s) {
		return &FieldError{field, "is not valid UTF-8 text (save the file or the terminal as UTF-8)"}
	}
	n := 0
	for _, r := range s {
		n++
		switch {
		case unicode.IsControl(r):
			return &FieldError{field, fmt.Sprintf("has a control character (U+%04X); use plain text on one line", r)}
		case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069:
			return &FieldError{field, fmt.Sprintf("has a text-direction override (U+%04X)", r)}
		}
	}
	if n > max {
		return &FieldError{field, fmt.Sprintf("is %d characters long; at most %d", n, max)}
	}
	return nil
}
