package journal

// Limits on what people type (issue 11 item 12): a length per field, and
// characters that have no business in a name or a one-line field — NUL
// and other control characters, line breaks (which forge lines in logs
// and CSV exports) and the bidirectional-text controls such as U+202E
// RIGHT-TO-LEFT OVERRIDE (which make "exe.txt" read as "txt.exe").

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// Maximum lengths, in characters.
const (
	maxNameLen    = 100   // surname, name, patronymic, display name
	maxOrgLen     = 200   // organization
	maxAddressLen = 300   // postal address
	maxShortLen   = 64    // queue, topic id, policy, extension, token name, document number
	maxFileLen    = 255   // attachment file name
	maxTextLen    = 20000 // appeal text
	maxCommentLen = 5000  // comments
)

// bidiControl reports whether r changes the direction of text around it.
func bidiControl(r rune) bool {
	return r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069 || r == 0x200E || r == 0x200F || r == 0x061C
}

// checkLine checks a single-line field: at most max characters, valid
// UTF-8, no control or format characters (NUL, CR, LF, tab, U+202E…).
func checkLine(field, s string, max int) error {
	if err := checkLen(field, s, max); err != nil {
		return err
	}
	for _, r := range s {
		switch {
		case r == '\r' || r == '\n':
			return &FieldError{field, "must be one line (has a line break)"}
		case unicode.IsControl(r):
			return &FieldError{field, fmt.Sprintf("has a control character U+%04X", r)}
		case bidiControl(r) || unicode.Is(unicode.Cf, r):
			return &FieldError{field, fmt.Sprintf("has an invisible formatting character U+%04X", r)}
		}
	}
	return nil
}

// checkText checks a multi-line field: at most max characters; line
// breaks and tabs are fine, other control characters and bidirectional
// overrides are not.
func checkText(field, s string, max int) error {
	if err := checkLen(field, s, max); err != nil {
		return err
	}
	for _, r := range s {
		switch {
		case r == '\r' || r == '\n' || r == '\t':
		case unicode.IsControl(r):
			return &FieldError{field, fmt.Sprintf("has a control character U+%04X", r)}
		case bidiControl(r):
			return &FieldError{field, fmt.Sprintf("has a text-direction override U+%04X", r)}
		}
	}
	return nil
}

func checkLen(field, s string, max int) error {
	if !utf8.ValidString(s) {
		return &FieldError{field, "is not valid UTF-8"}
	}
	if n := utf8.RuneCountInString(s); n > max {
		return &FieldError{field, fmt.Sprintf("%d characters, at most %d", n, max)}
	}
	return nil
}

// firstErr returns the first non-nil error.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
