package journal

// MaxDisplayName is the longest display name an account may have, in
// characters (checkLine enforces it with the other field limits); the CLI
// cuts longer names stored before the limit when it prints them.
const MaxDisplayName = maxNameLen
