//go:build !linux

package term

import (
	"errors"
	"os"
)

// termState is a saved terminal configuration; raw mode is implemented
// for Linux only, so elsewhere there is none and the client uses line mode.
type termState struct{}

func isTerminal(fd int) bool { return false }

func makeRaw(fd int) (*termState, error) { return nil, errors.ErrUnsupported }

func setState(fd int, t *termState) error { return errors.ErrUnsupported }

func size(fd int) (width, height int, err error) { return 0, 0, errors.ErrUnsupported }

func notifyResize(c chan<- os.Signal) {}
