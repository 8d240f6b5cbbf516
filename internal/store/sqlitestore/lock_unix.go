//go:build unix

package sqlitestore

import (
	"fmt"
	"os"
	"syscall"
)

// lockFile takes an exclusive flock on the database file without waiting;
// it fails, saying so, when another process holds it. flock locks are
// separate from the fcntl locks SQLite uses, so tools that open the store
// without the lock (pynet accounts) are not affected, and the kernel drops
// the lock when the process dies: a crashed server never leaves it behind.
func lockFile(path, dir string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if err == syscall.EWOULDBLOCK {
			return nil, fmt.Errorf("sqlitestore: %s is in use by another pynet server (%s is locked)", dir, path)
		}
		return nil, fmt.Errorf("sqlitestore: lock %s: %w", path, err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
