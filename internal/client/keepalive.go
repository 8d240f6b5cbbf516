package client

import (
	"net"
	"time"
)

// keepalive is the io.Reader under a session's LineReader. Each Read waits
// at most idle for data; when nothing came, it pings the server once and
// waits again, and only a second silence ends the connection (ErrSilent).
// So a dead peer or a cut network is noticed without a timer goroutine, and
// without the LineReader ever seeing a timeout (its errors are final).
//
// It belongs to the goroutine that reads the session: during the
// handshake that is Join's caller, then the reader goroutine (the go
// statement orders the two).
type keepalive struct {
	conn net.Conn
	idle time.Duration
	ping func() error // nil: a silence ends the read at once (handshake)
}

func (k *keepalive) Read(p []byte) (int, error) {
	pinged := false
	for {
		k.conn.SetReadDeadline(time.Now().Add(k.idle))
		n, err := k.conn.Read(p)
		if n > 0 || err == nil || !isTimeout(err) {
			return n, err
		}
		if pinged || k.ping == nil {
			return 0, ErrSilent
		}
		pinged = true
		if err := k.ping(); err != nil {
			return 0, err
		}
	}
}
