//go:build linux

package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// batchReader receives up to len(bufs) datagrams per recvmmsg(2) call into
// buffers it owns, without allocating. golang.org/x/net/ipv4's ReadBatch
// does the same syscall but builds a *net.UDPAddr per datagram (two
// allocations per packet); at 100k packets/s that garbage costs more than
// the receive itself, so the receive side talks to recvmmsg directly. The
// send side uses ipv4.PacketConn.WriteBatch, which does not allocate.
type batchReader struct {
	rc    syscall.RawConn
	hs    []mmsghdr
	iovs  []unix.Iovec
	names []unix.RawSockaddrInet6
	bufs  [][]byte
	ctrl  []byte // control buffers when kernel timestamps are on
	n     int
	errno syscall.Errno
	fn    func(fd uintptr) bool
}

// ctrlSize holds one SCM_TIMESTAMPNS control message (16-byte header and
// a struct timespec) with room to spare.
const ctrlSize = 64

// enableStamps asks the kernel for each datagram's arrival time
// (SO_TIMESTAMPNS, socket(7)), returned by rxTime.
func (r *batchReader) enableStamps() error {
	var serr error
	err := r.rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("SO_TIMESTAMPNS: %w", err)
	}
	r.ctrl = make([]byte, len(r.hs)*ctrlSize)
	for i := range r.hs {
		r.hs[i].hdr.Control = &r.ctrl[i*ctrlSize]
	}
	return nil
}

// rxTime returns the kernel's arrival time of datagram i of the last read
// in Unix nanoseconds, or 0 without timestamps.
func (r *batchReader) rxTime(i int) int64 {
	if r.ctrl == nil || r.hs[i].hdr.Controllen < unix.SizeofCmsghdr+16 {
		return 0
	}
	c := r.ctrl[i*ctrlSize:]
	h := (*unix.Cmsghdr)(unsafe.Pointer(&c[0]))
	if h.Level != unix.SOL_SOCKET || h.Type != unix.SCM_TIMESTAMPNS {
		return 0
	}
	ts := (*unix.Timespec)(unsafe.Pointer(&c[unix.SizeofCmsghdr]))
	return ts.Nano()
}

// mmsghdr is struct mmsghdr of recvmmsg(2); Go pads it to the C size.
type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32
}

func newBatchReader(c *net.UDPConn, batch, size int) (*batchReader, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	r := &batchReader{
		rc:    rc,
		hs:    make([]mmsghdr, batch),
		iovs:  make([]unix.Iovec, batch),
		names: make([]unix.RawSockaddrInet6, batch),
		bufs:  make([][]byte, batch),
	}
	for i := range r.hs {
		r.bufs[i] = make([]byte, size)
		r.iovs[i].Base = &r.bufs[i][0]
		r.iovs[i].SetLen(size)
		r.hs[i].hdr.Iov = &r.iovs[i]
		r.hs[i].hdr.SetIovlen(1)
		r.hs[i].hdr.Name = (*byte)(unsafe.Pointer(&r.names[i]))
	}
	r.fn = r.recv
	return r, nil
}

func (r *batchReader) recv(fd uintptr) bool {
	for {
		n, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&r.hs[0])), uintptr(len(r.hs)), 0, 0, 0)
		switch e {
		case 0:
			r.n = int(n)
			return true
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false // wait until readable
		default:
			r.errno = e
			return true
		}
	}
}

// read blocks until at least one datagram arrived and returns how many.
func (r *batchReader) read() (int, error) {
	for i := range r.hs {
		r.hs[i].hdr.Namelen = unix.SizeofSockaddrInet6
		r.hs[i].hdr.Flags = 0
		r.hs[i].n = 0
		if r.ctrl != nil {
			r.hs[i].hdr.SetControllen(ctrlSize)
		}
	}
	r.n, r.errno = 0, 0
	if err := r.rc.Read(r.fn); err != nil {
		return 0, err
	}
	if r.errno != 0 {
		return 0, errors.New("recvmmsg: " + r.errno.Error())
	}
	return r.n, nil
}

// packet returns datagram i of the last read and its source as an addrKey
// (0 for anything but IPv4).
func (r *batchReader) packet(i int) ([]byte, uint64) {
	b := r.bufs[i][:r.hs[i].n]
	sa := (*[unix.SizeofSockaddrInet6]byte)(unsafe.Pointer(&r.names[i]))
	if r.names[i].Family != unix.AF_INET {
		return b, 0
	}
	port := binary.BigEndian.Uint16(sa[2:4])
	ip := binary.BigEndian.Uint32(sa[4:8])
	return b, uint64(ip)<<16 | uint64(port)
}
