//go:build !linux

package bench

import "os"

// IsTerminal reports whether f looks like a terminal: a character device
// (which /dev/null also is, on systems where this guess is made).
func IsTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
