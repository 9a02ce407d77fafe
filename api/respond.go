package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"

	"github.com/obzvon/obzvon/journal"
)

// maxJSONBody caps a JSON request body; appeal texts are long, but not
// megabytes.
const maxJSONBody = 1 << 20

// writeJSON sends v as JSON with the given status.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError sends {"error": msg} with the given status.
func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

// badRequestError is a client error found by the API itself (a bad query
// parameter, malformed JSON); its message names the field.
type badRequestError struct {
	code int
	msg  string
}

func (e *badRequestError) Error() string { return e.msg }

// badRequest returns a 400 error naming what is wrong.
func badRequest(format string, args ...any) error {
	return &badRequestError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

// unprocessable returns a 422 error: well-formed, but a field's value is
// not acceptable.
func unprocessable(format string, args ...any) error {
	return &badRequestError{http.StatusUnprocessableEntity, fmt.Sprintf(format, args...)}
}

// errForbidden is the 403 answer for a role without the right.
type forbiddenError struct{ msg string }

func (e *forbiddenError) Error() string { return e.msg }

// statusOf maps an error to an HTTP status and the message the client
// sees. Journal errors keep their message (it names the field, the move,
// the status); unexpected errors are 500 with a generic message, so
// internals do not leak.
func statusOf(err error) (int, string) {
	var br *badRequestError
	var fe *journal.FieldError
	var me *journal.MoveError
	var fb *forbiddenError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &br):
		return br.code, br.msg
	case errors.As(err, &fb):
		return http.StatusForbidden, fb.msg
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", mbe.Limit)
	case errors.As(err, &me):
		return http.StatusConflict, me.Error()
	case errors.As(err, &fe):
		return http.StatusUnprocessableEntity, fe.Error()
	case errors.Is(err, journal.ErrBadCredentials):
		return http.StatusUnauthorized, journal.ErrBadCredentials.Error()
	case errors.Is(err, journal.ErrDisabled), errors.Is(err, journal.ErrDenied):
		return http.StatusForbidden, err.Error()
	case errors.Is(err, journal.ErrNotFound):
		return http.StatusNotFound, err.Error()
	case errors.Is(err, journal.ErrIllegalMove), errors.Is(err, journal.ErrConflict), errors.Is(err, journal.ErrExists):
		return http.StatusConflict, err.Error()
	case errors.Is(err, journal.ErrInvalid):
		return http.StatusUnprocessableEntity, err.Error()
	case errors.Is(err, journal.ErrClosed), errors.Is(err, journal.ErrReadOnly):
		return http.StatusServiceUnavailable, "journal unavailable"
	}
	return http.StatusInternalServerError, "internal error"
}

// fail answers r with err's status and message. Server errors are logged
// with the route pattern (never the URL: it may hold a phone or a name).
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	code, msg := statusOf(err)
	if code >= 500 {
		s.log.Error("request failed", keyRoute, r.Pattern, keyStatus, code, keyError, redact(err.Error()), keyHint, "an internal error: check journal write errors and the disk; report it with this line if it repeats")
	}
	writeError(w, code, msg)
}

// longDigits matches what could be a phone or a policy number.
var longDigits = regexp.MustCompile(`\+?\d[\d\- ]{5,}\d`)

// redact hides digit runs that could be phones or policy numbers in an
// error message before it is logged: journal errors name the record they
// failed on, and a person's record is named by the policy number.
// Appeal numbers (2026-000123) are kept.
func redact(msg string) string {
	return longDigits.ReplaceAllStringFunc(msg, func(m string) string {
		if appealNumber.MatchString(m) {
			return m
		}
		return "[digits]"
	})
}

var appealNumber = regexp.MustCompile(`^\d{4}-\d{6}$`)

// decodeJSON reads the request body into v, refusing unknown fields and
// trailing data. Errors name the offending field.
func decodeJSON(r *http.Request, w http.ResponseWriter, v any) error {
	return decodeJSONLimit(r, w, v, maxJSONBody)
}

// decodeJSONLimit is decodeJSON for a body of at most limit bytes.
func decodeJSONLimit(r *http.Request, w http.ResponseWriter, v any, limit int64) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return &badRequestError{http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type %q: send application/json", ct)}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("body: unexpected data after the JSON object")
	}
	return nil
}

// jsonError turns a decoding error into a 400 naming the field.
func jsonError(err error) error {
	var ute *json.UnmarshalTypeError
	var se *json.SyntaxError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return err
	case errors.Is(err, io.EOF):
		return badRequest("body: empty; send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("body: JSON ends too early")
	case errors.As(err, &se):
		return badRequest("body: malformed JSON at byte %d: %v", se.Offset, err)
	case errors.As(err, &ute):
		if ute.Field == "" {
			return badRequest("body: want a JSON object, got %s", ute.Value)
		}
		return badRequest("%s: want %s, got %s", ute.Field, jsonKind(ute.Type.Kind().String()), ute.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return badRequest("%s: unknown field", strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`))
	}
	return badRequest("body: %v", err)
}

// jsonKind names a Go kind as JSON calls it.
func jsonKind(k string) string {
	switch {
	case strings.HasPrefix(k, "int"), strings.HasPrefix(k, "uint"), strings.HasPrefix(k, "float"):
		return "a number"
	case k == "string":
		return "a string"
	case k == "bool":
		return "true or false"
	case k == "slice", k == "array":
		return "an array"
	case k == "struct", k == "map":
		return "an object"
	}
	return k
}

// Log attribute keys. Values are ids, logins, routes and counts: never a
// phone number, a name or a policy number (personal data).
const (
	keyAccount    = "account"
	keyAppeal     = "appeal"
	keyBy         = "by"
	keyBytes      = "bytes"
	keyError      = "error"
	keyHint       = "hint" // what to do, on every warning and error
	keyMove       = "move"
	keyRejected   = "rejected"
	keyRetryAfter = "retry_after_s"
	keyRoute      = "route"
	keyRows       = "rows"
	keySource     = "source"
	keyStatus     = "status"
)

// discardLogger is used when Options.Logger is nil.
var discardLogger = slog.New(slog.DiscardHandler)
