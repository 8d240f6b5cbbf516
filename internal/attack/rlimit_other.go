//go:build !unix

package attack

// raiseNoFile is not available here: the limit is unknown (0).
func raiseNoFile() (uint64, error) { return 0, nil }

func selfCPU() float64 { return 0 }
