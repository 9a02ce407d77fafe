// Package media is the in-process media engine: RTP legs, the switch that
// connects them, G.711 transcoding, prompt playback, DTMF, recording and
// RTP statistics. It imports no other package of obzvon.
package media
