//go:build !linux

package media

import (
	"errors"
	"net"
	"net/netip"
)

var errNoConnect = errors.New("connected UDP sockets not used on this OS")

func connectUDP(*net.UDPConn, netip.AddrPort) error { return errNoConnect }

func disconnectUDP(*net.UDPConn) error { return nil }
