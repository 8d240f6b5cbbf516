//go:build unix

package server

import (
	"net"
	"syscall"
)

// writeFD is one write(2) on a socket the runtime keeps non-blocking.
func writeFD(fd uintptr, b []byte) (int, error) { return syscall.Write(int(fd), b) }

// rawConnOf returns the socket under nc for the writer pool's
// non-blocking writes, or nil if nc is not a plain socket (TLS): such
// connections get a writer goroutine for every burst, as before the pool.
func rawConnOf(nc net.Conn) syscall.RawConn {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}
