//go:build !linux

package media

import (
	"errors"
	"net"
	"net/netip"
	"time"
)

var errNotLinux = errors.New("media: needs Linux")

// goSocket sends through the net package on systems without the raw path.
type goSocket struct{ c *net.UDPConn }

func newGoSocketOS(c *net.UDPConn) (rtpSocket, error) { return goSocket{c}, nil }

func (s goSocket) write(b []byte) error {
	_, err := s.c.Write(b)
	return err
}

func (s goSocket) writeTo(b []byte, to netip.AddrPort) error {
	_, err := s.c.WriteToUDPAddrPort(b, to)
	return err
}

// Connected sockets are a Linux optimisation; elsewhere connect fails and
// the leg keeps sending with sendto.
func (s goSocket) connect(netip.AddrPort) error { return errNotLinux }
func (s goSocket) disconnect() error            { return nil }
func (s goSocket) close() error                 { return s.c.Close() }
func (s goSocket) queued() bool                 { return false }
func (s goSocket) rxStamp() (time.Time, bool)   { return time.Time{}, false }

type rawSocket struct{}

func listenRaw(netip.Addr, int) (*rawSocket, error) { return nil, errNotLinux }

func (*rawSocket) write([]byte) error                   { return errNotLinux }
func (*rawSocket) writeTo([]byte, netip.AddrPort) error { return errNotLinux }
func (*rawSocket) connect(netip.AddrPort) error         { return errNotLinux }
func (*rawSocket) queued() bool                         { return false }
func (*rawSocket) disconnect() error                    { return nil }
func (*rawSocket) close() error                         { return nil }
func (*rawSocket) rxStamp() (time.Time, bool)           { return time.Time{}, false }

type worker struct{}

func newWorker() (*worker, error)          { return nil, errNotLinux }
func (*worker) add(*Leg, *rawSocket) error { return errNotLinux }
func (*worker) remove(*Leg)                {}
func (*worker) stop()                      {}

func (*worker) ping(ch chan struct{}) { close(ch) }
