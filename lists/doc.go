// Package lists decodes the person lists that staff load into obzvon —
// the insured registry and survey lists — from CSV (UTF-8 with or without
// a BOM, or Windows-1251; comma or semicolon separated; quoted fields with
// newlines) and XLSX, maps Russian or English headers to fields, and
// validates and normalizes each row: phones to E.164, the unified policy
// number (ЕНП, 16 digits), dates of birth.
//
// It is pure logic with no storage: the journal stores what it returns,
// campaigns reuse it for survey lists. Every bad row is reported with its
// line, field and reason; the good rows are returned. The header may be
// preceded by up to four title lines.
//
// WriteSyntheticRegistry makes registries of any size from made-up
// combinations of common Russian names, for tests and benchmarks.
package lists
