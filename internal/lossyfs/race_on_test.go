//go:build race

package lossyfs

// raceEnabled: the race detector is on. A FUSE server in the test process
// serving page faults of a mapping in the same process can deadlock
// against the race runtime's slower stop-the-world (seen: a 15-minute hang
// of the -race pass), so the mount tests run in the pass without -race.
const raceEnabled = true
