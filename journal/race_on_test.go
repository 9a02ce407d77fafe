//go:build race

package journal

// raceEnabled: the tests that kill child processes in the middle of bulk
// loads or cut the power under them run in the plain pass of make test;
// under the race detector Badger is ten times slower and they test
// crashes, not races.
const raceEnabled = true
