package media

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Raw socket I/O and epoll workers (Linux).
//
// Sends on every leg socket go straight to sendto(2) with RawSyscall: a
// non-blocking UDP send does not block, and skipping the runtime's
// entersyscall/exitsyscall and the net package's descriptor locking saves
// about 2 µs per packet (BenchmarkForward). The caller serialises sends
// with Close (rtpSocket).
//
// Epoll workers (EngineConfig.Workers > 0): a few goroutines each wait on
// an epoll set of raw non-blocking leg sockets and run the same per-packet
// path as the per-leg readers, without a goroutine wake-up and park per
// packet in the runtime's poller.

// errFamily means an IPv6 destination for an IPv4 socket.
var errFamily = errors.New("IPv6 destination on an IPv4 socket")

// rawSocket is a non-blocking UDP socket descriptor.
type rawSocket struct {
	fd     int
	family int
}

// goSocket is a net.UDPConn (read by the leg's goroutine through the
// runtime's poller) whose sends and connects use its descriptor directly.
type goSocket struct {
	c *net.UDPConn
	rawSocket
}

func newGoSocketOS(c *net.UDPConn) (rtpSocket, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	s := &goSocket{c: c}
	if err := rc.Control(func(fd uintptr) { s.fd = int(fd) }); err != nil {
		return nil, err
	}
	s.family = syscall.AF_INET
	if a, ok := c.LocalAddr().(*net.UDPAddr); ok && a.IP.To4() == nil {
		s.family = syscall.AF_INET6
	}
	return s, nil
}

// close closes the net.UDPConn, which owns the descriptor.
func (s *goSocket) close() error { return s.c.Close() }

func listenRaw(ip netip.Addr, port int) (*rawSocket, error) {
	family := syscall.AF_INET
	var sa syscall.Sockaddr
	if ip = ip.Unmap(); ip.Is4() {
		sa = &syscall.SockaddrInet4{Port: port, Addr: ip.As4()}
	} else {
		family = syscall.AF_INET6
		sa = &syscall.SockaddrInet6{Port: port, Addr: ip.As16()}
	}
	fd, err := syscall.Socket(family, syscall.SOCK_DGRAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	if err := syscall.Bind(fd, sa); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("bind %v:%d: %w", ip, port, err)
	}
	return &rawSocket{fd: fd, family: family}, nil
}

// sockaddrPort decodes a datagram's source address.
func sockaddrPort(rsa *syscall.RawSockaddrAny) netip.AddrPort {
	switch rsa.Addr.Family {
	case syscall.AF_INET:
		p := (*syscall.RawSockaddrInet4)(unsafe.Pointer(rsa))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&p.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom4(p.Addr), port)
	case syscall.AF_INET6:
		p := (*syscall.RawSockaddrInet6)(unsafe.Pointer(rsa))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&p.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom16(p.Addr).Unmap(), port)
	}
	return netip.AddrPort{}
}

// recvBatchSize is the most datagrams one recvmmsg takes from a socket.
const recvBatchSize = 8

// recvBatch holds the buffers of one recvmmsg, set up once per worker.
type recvBatch struct {
	bufs  [recvBatchSize][1500]byte
	names [recvBatchSize]syscall.RawSockaddrAny
	iovs  [recvBatchSize]unix.Iovec
	msgs  [recvBatchSize]unix.Mmsghdr
}

func newRecvBatch() *recvBatch {
	b := &recvBatch{}
	for i := range b.msgs {
		b.iovs[i].Base = &b.bufs[i][0]
		b.iovs[i].SetLen(len(b.bufs[i]))
		b.msgs[i].Hdr.Iov = &b.iovs[i]
		b.msgs[i].Hdr.SetIovlen(1)
		b.msgs[i].Hdr.Name = (*byte)(unsafe.Pointer(&b.names[i]))
	}
	return b
}

// recvmmsg reads the datagrams queued on s, up to recvBatchSize, without
// waiting; syscall.EAGAIN when none is.
func (s *rawSocket) recvmmsg(b *recvBatch) (int, error) {
	for i := range b.msgs {
		b.msgs[i].Hdr.Namelen = syscall.SizeofSockaddrAny
		b.msgs[i].Len = 0
	}
	n, _, errno := syscall.RawSyscall6(unix.SYS_RECVMMSG, uintptr(s.fd),
		uintptr(unsafe.Pointer(&b.msgs[0])), recvBatchSize, unix.MSG_DONTWAIT, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

func (s *rawSocket) write(b []byte) error {
	_, _, errno := syscall.RawSyscall6(syscall.SYS_SENDTO, uintptr(s.fd),
		uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), 0, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

func (s *rawSocket) writeTo(b []byte, to netip.AddrPort) error {
	var errno syscall.Errno
	if s.family == syscall.AF_INET {
		if !to.Addr().Unmap().Is4() {
			return errFamily
		}
		var sa syscall.RawSockaddrInet4
		sa.Family = syscall.AF_INET
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], to.Port())
		sa.Addr = to.Addr().Unmap().As4()
		_, _, errno = syscall.RawSyscall6(syscall.SYS_SENDTO, uintptr(s.fd),
			uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), 0,
			uintptr(unsafe.Pointer(&sa)), syscall.SizeofSockaddrInet4)
	} else {
		var sa syscall.RawSockaddrInet6
		sa.Family = syscall.AF_INET6
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], to.Port())
		sa.Addr = to.Addr().As16()
		_, _, errno = syscall.RawSyscall6(syscall.SYS_SENDTO, uintptr(s.fd),
			uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), 0,
			uintptr(unsafe.Pointer(&sa)), syscall.SizeofSockaddrInet6)
	}
	if errno != 0 {
		return errno
	}
	return nil
}

func (s *rawSocket) connect(to netip.AddrPort) error {
	var sa syscall.Sockaddr
	if s.family == syscall.AF_INET {
		if !to.Addr().Unmap().Is4() {
			return errFamily
		}
		sa = &syscall.SockaddrInet4{Port: int(to.Port()), Addr: to.Addr().Unmap().As4()}
	} else {
		sa = &syscall.SockaddrInet6{Port: int(to.Port()), Addr: to.Addr().As16()}
	}
	return syscall.Connect(s.fd, sa)
}

func (s *rawSocket) disconnect() error {
	sa := syscall.RawSockaddr{Family: syscall.AF_UNSPEC}
	_, _, errno := syscall.Syscall(syscall.SYS_CONNECT, uintptr(s.fd), uintptr(unsafe.Pointer(&sa)), unsafe.Sizeof(sa))
	if errno != 0 {
		return errno
	}
	return nil
}

func (s *rawSocket) close() error { return syscall.Close(s.fd) }

// queued asks the kernel (SIOCINQ) for the size of the next datagram
// waiting in the socket's receive queue.
func (s *rawSocket) queued() bool {
	n, err := unix.IoctlGetInt(s.fd, unix.SIOCINQ)
	return err == nil && n > 0
}

// rxStamp asks the kernel when the last datagram read from the socket
// arrived (SIOCGSTAMPNS, socket(7)). The first call on a socket turns the
// stamps on and tells nothing (ENOENT, or the time of the call).
func (s *rawSocket) rxStamp() (time.Time, bool) {
	var ts unix.Timespec
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(s.fd), unix.SIOCGSTAMPNS, uintptr(unsafe.Pointer(&ts)))
	if errno != 0 || ts.Sec == 0 {
		return time.Time{}, false
	}
	return time.Unix(ts.Sec, ts.Nsec), true
}

// worker reads the sockets of its legs from one epoll set. The epoll
// descriptor itself is registered with the runtime's network poller, so
// the worker goroutine parks like any reader until one of its sockets has
// data, then drains every ready socket with non-blocking epoll_wait calls:
// one wake-up serves a batch of packets when the load is high.
type worker struct {
	epfd   int
	wakefd int      // eventfd in the set: wakes the worker to stop
	file   *os.File // epfd, pollable by the runtime

	mu      sync.RWMutex // held for reading while a batch is processed
	legs    map[int32]*Leg
	stopped atomic.Bool
	done    chan struct{}

	pingMu sync.Mutex
	pings  []chan struct{} // closed by the worker when it sees the wake-up (heartbeat_linux.go)
}

func newWorker() (*worker, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	wfd, _, errno := syscall.RawSyscall(syscall.SYS_EVENTFD2, 0, syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0)
	if errno != 0 {
		syscall.Close(epfd)
		return nil, fmt.Errorf("eventfd2: %w", errno)
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(wfd)}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, int(wfd), &ev); err != nil {
		syscall.Close(epfd)
		syscall.Close(int(wfd))
		return nil, fmt.Errorf("epoll_ctl: %w", err)
	}
	if err := syscall.SetNonblock(epfd, true); err != nil {
		syscall.Close(epfd)
		syscall.Close(int(wfd))
		return nil, fmt.Errorf("epoll fd: %w", err)
	}
	w := &worker{epfd: epfd, wakefd: int(wfd), file: os.NewFile(uintptr(epfd), "epoll"),
		legs: make(map[int32]*Leg), done: make(chan struct{})}
	rc, err := w.file.SyscallConn()
	if err != nil {
		w.file.Close()
		syscall.Close(int(wfd))
		return nil, fmt.Errorf("epoll fd: %w", err)
	}
	go w.run(rc)
	return w, nil
}

// add starts reading l's raw socket.
func (w *worker) add(l *Leg, s *rawSocket) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped.Load() {
		return ErrEngineClosed
	}
	w.legs[int32(s.fd)] = l
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(s.fd)}
	if err := syscall.EpollCtl(w.epfd, syscall.EPOLL_CTL_ADD, s.fd, &ev); err != nil {
		delete(w.legs, int32(s.fd))
		return fmt.Errorf("epoll_ctl: %w", err)
	}
	return nil
}

// remove stops reading l. When it returns the worker is not running l's
// packet path and never will again, so the socket can be closed.
func (w *worker) remove(l *Leg) {
	s := l.sock.(*rawSocket)
	w.mu.Lock() // waits for the batch in progress
	defer w.mu.Unlock()
	if w.legs[int32(s.fd)] == l {
		delete(w.legs, int32(s.fd))
		syscall.EpollCtl(w.epfd, syscall.EPOLL_CTL_DEL, s.fd, nil)
	}
}

// stop ends the worker and waits for it. Its legs must be closed first.
func (w *worker) stop() {
	if !w.stopped.Swap(true) {
		w.pingMu.Lock() // the worker may already have closed the eventfd
		if w.wakefd >= 0 {
			one := uint64(1)
			syscall.Write(w.wakefd, (*[8]byte)(unsafe.Pointer(&one))[:])
		}
		w.pingMu.Unlock()
	}
	<-w.done
}

func (w *worker) run(rc syscall.RawConn) {
	defer func() {
		w.file.Close()
		w.closeWake()
		close(w.done)
	}()
	events := make([]syscall.EpollEvent, 128)
	rb := newRecvBatch()
	rc.Read(func(epfd uintptr) bool {
		for !w.stopped.Load() {
			n, _, errno := syscall.RawSyscall6(syscall.SYS_EPOLL_PWAIT, epfd,
				uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
			if errno == syscall.EINTR {
				continue
			}
			if errno != 0 || n == 0 {
				return false // park until the set is ready again
			}
			w.batch(events[:n], rb)
		}
		return true
	})
}

// batch drains the ready sockets of one epoll_wait.
func (w *worker) batch(events []syscall.EpollEvent, rb *recvBatch) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	for _, ev := range events {
		if ev.Fd == int32(w.wakefd) {
			w.pong()
			continue
		}
		l := w.legs[ev.Fd]
		if l == nil {
			continue // the wake-up, or a leg removed since
		}
		// One recvmmsg per ready socket and round takes everything queued
		// (up to recvBatchSize) in the one syscall the common case of a
		// single datagram needs anyway: a socket that fell behind (a
		// stall, a burst) catches up at once instead of by one packet per
		// round, which left packets queued for seconds at 1000 calls. The
		// set is level-triggered, so a socket with still more queued is
		// reported again by the next epoll_wait.
		n, err := l.sock.(*rawSocket).recvmmsg(rb)
		if err != nil || n == 0 {
			continue // EAGAIN (spurious), or an ICMP error: skip it
		}
		now := time.Now()
		for i := 0; i < n; i++ {
			l.handle(rb.bufs[i][:rb.msgs[i].Len], sockaddrPort(&rb.names[i]), now)
		}
	}
}
