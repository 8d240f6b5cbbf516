package server

import (
	"errors"
	"net"
	"strconv"
)

// netConn is a connection whose sending side can be shut down alone, as
// *net.TCPConn and *tls.Conn can: closing gracefully needs it.
type netConn interface {
	net.Conn
	CloseWrite() error
}

// asNetConn adapts any net.Conn; one without CloseWrite just cannot linger.
func asNetConn(nc net.Conn) netConn {
	if c, ok := nc.(netConn); ok {
		return c
	}
	return noCloseWrite{nc}
}

type noCloseWrite struct{ net.Conn }

func (noCloseWrite) CloseWrite() error { return errors.ErrUnsupported }

func itoa(n int) string { return strconv.Itoa(n) }
