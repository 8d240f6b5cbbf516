package server

import (
	"errors"
	"net"
	"strconv"
	"unicode/utf8"
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

// quote quotes a client-supplied string for an error message, shortened so
// that an error never echoes a whole frame back.
func quote(s string) string {
	const max = 40
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return strconv.Quote(s)
}
