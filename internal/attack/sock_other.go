//go:build !linux

package attack

import "syscall"

// sockControl does nothing outside Linux: the receive buffer of non-readers
// keeps its default size there.
func sockControl(rcvbuf int) func(network, address string, c syscall.RawConn) error {
	return nil
}

const (
	tcpUnknown     = -1
	tcpEstablished = 1
)

// tcpState is unknown outside Linux.
func tcpState(c interface {
	SyscallConn() (syscall.RawConn, error)
}) int {
	return tcpUnknown
}
