// Package config loads and validates the obzvon TOML configuration:
// Default, then Parse, then Validate, with errors that name the key.
package config
