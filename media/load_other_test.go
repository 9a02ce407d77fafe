//go:build !linux

package media

import "time"

// The load benchmark and its generator need Linux (getrusage, /proc,
// SO_RCVBUFFORCE); elsewhere the generator hook does nothing.

const loadGenEnv = "OBZVON_MEDIA_LOADGEN"

func runLoadGenerator() int { return 0 }

func cpuTime() time.Duration { return 0 }
