package journal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// describeJSON turns an error of encoding/json about the document b into
// words for the person who wrote b: the line, the field, what was found
// and what was expected, without Go type names ("[]journal.Topic"). Other
// errors come back unchanged.
func describeJSON(b []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Errorf("line %d: not valid JSON: %s", lineOf(b, se.Offset), strings.TrimPrefix(se.Error(), "json: "))
	case errors.As(err, &te):
		where := fmt.Sprintf("line %d", lineOf(b, te.Offset))
		if te.Field != "" {
			where += fmt.Sprintf(", field %q", te.Field)
		}
		return fmt.Errorf("%s: found %s, want %s", where, jsonKind(te.Value), describeType(te.Type))
	case errors.Is(err, io.EOF):
		return errors.New("the file is empty; want a JSON array")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return fmt.Errorf("unknown field %s (a typo?)", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return err
}

// lineOf is the 1-based line of byte offset off in b.
func lineOf(b []byte, off int64) int {
	if off > int64(len(b)) {
		off = int64(len(b))
	}
	return 1 + bytes.Count(b[:max(off, 0)], []byte("\n"))
}

func jsonKind(v string) string {
	switch v {
	case "string", "number", "bool":
		return "a " + v
	case "array", "object":
		return "an " + v
	}
	return v
}

// describeType names what a Go type expects in JSON terms.
func describeType(t reflect.Type) string {
	if t == nil {
		return "another kind of value"
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "another kind of value"
}
