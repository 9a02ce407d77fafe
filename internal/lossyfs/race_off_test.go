//go:build !race

package lossyfs

const raceEnabled = false
