package attack

import (
	"syscall"
	"unsafe"
)

// ipBindAddressNoPort is IP_BIND_ADDRESS_NO_PORT (linux/in.h): with a source
// address bound, the port is chosen at connect time for the whole 4-tuple,
// not at bind time for the address alone.
const ipBindAddressNoPort = 24

// sockControl sets the options of a socket before it binds and connects.
func sockControl(rcvbuf int) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			// Best effort: an old kernel without it still works, with fewer ports.
			syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
			if rcvbuf > 0 {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf)
			}
		})
		if err != nil {
			return err
		}
		return serr
	}
}

// TCP states (include/net/tcp_states.h), as tcpState reports them.
const (
	tcpUnknown     = -1
	tcpEstablished = 1
)

// tcpState returns the kernel's state of c (TCP_INFO's tcpi_state):
// established, close-wait (the server closed), close (reset), …
func tcpState(c interface {
	SyscallConn() (syscall.RawConn, error)
}) int {
	rc, err := c.SyscallConn()
	if err != nil {
		return tcpUnknown
	}
	state := tcpUnknown
	rc.Control(func(fd uintptr) {
		var info [256]byte
		size := uint32(len(info))
		_, _, errno := syscall.Syscall6(syscall.SYS_GETSOCKOPT, fd, syscall.IPPROTO_TCP, syscall.TCP_INFO,
			uintptr(unsafe.Pointer(&info[0])), uintptr(unsafe.Pointer(&size)), 0)
		if errno == 0 && size > 0 {
			state = int(info[0])
		}
	})
	return state
}
