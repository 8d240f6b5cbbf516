//go:build linux

package term

import (
	"os"
	"os/signal"
	"syscall"
	"unsafe"
)

// termState is a saved terminal configuration.
type termState = syscall.Termios

func ioctl(fd int, req uintptr, arg unsafe.Pointer) error {
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), req, uintptr(arg))
	if errno != 0 {
		return errno
	}
	return nil
}

func getState(fd int) (*termState, error) {
	var t syscall.Termios
	if err := ioctl(fd, syscall.TCGETS, unsafe.Pointer(&t)); err != nil {
		return nil, err
	}
	return &t, nil
}

func setState(fd int, t *termState) error {
	return ioctl(fd, syscall.TCSETS, unsafe.Pointer(t))
}

// isTerminal reports whether fd is a terminal: only terminals answer TCGETS.
func isTerminal(fd int) bool {
	_, err := getState(fd)
	return err == nil
}

// makeRaw switches fd to raw input and returns the state to restore: no
// line buffering or echo (the editor does both), no signals from Ctrl-C,
// Ctrl-Z or Ctrl-\ (the editor sees them as keys), no CR→LF translation,
// no flow control, 8-bit characters, reads return as soon as one byte is
// there.
//
// Output processing (OPOST) is left on: the client writes CR LF itself, and
// with it on, anything else that writes to the terminal meanwhile (a crash
// report) still starts its lines at column 0.
func makeRaw(fd int) (*termState, error) {
	old, err := getState(fd)
	if err != nil {
		return nil, err
	}
	raw := *old
	raw.Iflag &^= syscall.IGNBRK | syscall.BRKINT | syscall.PARMRK | syscall.ISTRIP |
		syscall.INLCR | syscall.IGNCR | syscall.ICRNL | syscall.IXON
	raw.Lflag &^= syscall.ECHO | syscall.ECHONL | syscall.ICANON | syscall.ISIG | syscall.IEXTEN
	raw.Cflag &^= syscall.CSIZE | syscall.PARENB
	raw.Cflag |= syscall.CS8
	raw.Cc[syscall.VMIN] = 1
	raw.Cc[syscall.VTIME] = 0
	if err := setState(fd, &raw); err != nil {
		return nil, err
	}
	return old, nil
}

// winsize is struct winsize of <sys/ioctl.h>.
type winsize struct{ rows, cols, xpixel, ypixel uint16 }

// size returns the terminal's width and height in characters.
func size(fd int) (width, height int, err error) {
	var ws winsize
	if err := ioctl(fd, syscall.TIOCGWINSZ, unsafe.Pointer(&ws)); err != nil {
		return 0, 0, err
	}
	return int(ws.cols), int(ws.rows), nil
}

// notifyResize asks for SIGWINCH, which the kernel sends when the
// terminal's size changes.
func notifyResize(c chan<- os.Signal) { signal.Notify(c, syscall.SIGWINCH) }
