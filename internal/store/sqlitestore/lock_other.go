//go:build !unix

package sqlitestore

// lockFile does nothing where flock is not available.
func lockFile(path, dir string) (unlock func(), err error) { return func() {}, nil }
