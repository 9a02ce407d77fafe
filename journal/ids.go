package journal

import (
	"crypto/rand"
	"encoding/binary"
	"sync"
	"time"
)

// crockford is the Crockford base32 alphabet used by ULIDs.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// idSource makes ULID-like ids: 48 bits of milliseconds then 80 random
// bits, 26 characters of Crockford base32, so ids sort by creation time.
// Within one millisecond the random part is incremented, so ids from one
// source are strictly increasing.
type idSource struct {
	mu   sync.Mutex
	last uint64
	hi   uint16
	lo   uint64
}

func newIDSource() *idSource { return &idSource{} }

func (s *idSource) next(t time.Time) string {
	ms := uint64(t.UnixMilli())
	s.mu.Lock()
	if ms <= s.last {
		ms = s.last
		s.lo++
		if s.lo == 0 {
			s.hi++
		}
	} else {
		var r [10]byte
		_, _ = rand.Read(r[:])
		s.hi = binary.BigEndian.Uint16(r[:2]) >> 1 // room to increment
		s.lo = binary.BigEndian.Uint64(r[2:])
		s.last = ms
	}
	hi, lo := s.hi, s.lo
	s.mu.Unlock()
	var b [16]byte
	b[0], b[1], b[2], b[3], b[4], b[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
	binary.BigEndian.PutUint16(b[6:8], hi)
	binary.BigEndian.PutUint64(b[8:], lo)
	return encodeULID(b)
}

func encodeULID(b [16]byte) string {
	// 128 bits -> 26 base32 chars (first char carries 3 bits).
	var out [26]byte
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

var globalIDs = newIDSource()

// NewID returns a new unique, time-ordered id (ULID-like, 26 characters)
// for t, e.g. for a call record named before the call ends.
func NewID(t time.Time) string { return globalIDs.next(t) }
