//go:build !linux

package main

import (
	"net"
	"time"

	"golang.org/x/net/ipv4"
)

// batchReader receives datagrams with ipv4.PacketConn.ReadBatch. On Linux
// recv_linux.go replaces it with an allocation-free recvmmsg.
type batchReader struct {
	pc   *ipv4.PacketConn
	ms   []ipv4.Message
	bufs [][]byte
}

func newBatchReader(c *net.UDPConn, batch, size int) (*batchReader, error) {
	r := &batchReader{pc: ipv4.NewPacketConn(c), ms: make([]ipv4.Message, batch), bufs: make([][]byte, batch)}
	for i := range r.ms {
		r.bufs[i] = make([]byte, size)
		r.ms[i].Buffers = r.bufs[i : i+1]
	}
	return r, nil
}

func (r *batchReader) read() (int, error) { return r.pc.ReadBatch(r.ms, 0) }

func (r *batchReader) packet(i int) ([]byte, uint64) {
	b := r.bufs[i][:r.ms[i].N]
	ua, ok := r.ms[i].Addr.(*net.UDPAddr)
	if !ok {
		return b, 0
	}
	ap := ua.AddrPort()
	return b, addrKey(ap)
}

// enableStamps is a no-op here: rxTime falls back to the time of the read.
func (r *batchReader) enableStamps() error { return nil }

// rxTime returns the time of the last read (no kernel timestamps here).
func (r *batchReader) rxTime(int) int64 { return time.Now().UnixNano() }
