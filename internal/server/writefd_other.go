//go:build !unix

package server

import (
	"errors"
	"net"
	"syscall"
)

// writeFD is not used where rawConnOf returns nil.
func writeFD(uintptr, []byte) (int, error) { return 0, errors.ErrUnsupported }

// rawConnOf returns nil here: every connection gets writer goroutines, as
// before the writer pool (which needs non-blocking write(2)).
func rawConnOf(net.Conn) syscall.RawConn { return nil }
