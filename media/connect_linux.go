package media

import (
	"net"
	"net/netip"
	"syscall"
	"unsafe"
)

// Connected UDP sockets: once a leg's remote is settled, the socket is
// connect(2)ed to it. The kernel then skips the per-packet route lookup of
// sendto (about 1 µs per packet on loopback, a quarter of the send cost)
// and drops packets from other sources itself — the policy after the
// learning window anyway. Update disconnects (AF_UNSPEC) when the remote
// changes.

// connectUDP connects c to remote (connect(2) on a datagram socket only sets
// the default destination and the source filter).
func connectUDP(c *net.UDPConn, remote netip.AddrPort) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var sa syscall.Sockaddr
	if a := remote.Addr(); a.Is4() {
		sa = &syscall.SockaddrInet4{Port: int(remote.Port()), Addr: a.As4()}
	} else {
		sa = &syscall.SockaddrInet6{Port: int(remote.Port()), Addr: a.As16()}
	}
	var cerr error
	if err := rc.Control(func(fd uintptr) { cerr = syscall.Connect(int(fd), sa) }); err != nil {
		return err
	}
	return cerr
}

// disconnectUDP dissolves the association made by connectUDP: connect(2)
// with AF_UNSPEC (connect(2), "Connectionless sockets may dissolve the
// association by connecting to an address with the sa_family member of
// sockaddr set to AF_UNSPEC").
func disconnectUDP(c *net.UDPConn) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var cerr error
	if err := rc.Control(func(fd uintptr) {
		sa := syscall.RawSockaddr{Family: syscall.AF_UNSPEC}
		_, _, errno := syscall.Syscall(syscall.SYS_CONNECT, fd, uintptr(unsafe.Pointer(&sa)), unsafe.Sizeof(sa))
		if errno != 0 {
			cerr = errno
		}
	}); err != nil {
		return err
	}
	return cerr
}
