package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"pynet/internal/wiretrace"
)

// dial opens one connection to the server: TCP, then the TLS handshake
// when cfg.TLS is set, all within cfg.DialTimeout.
//
// It is the one place where the client makes a net.Conn, so wrapping the
// connection (to trace its bytes, say) is a change to this function only.
// It also returns the TLS connection state, nil over plain TCP.
func dial(ctx context.Context, cfg *Config) (net.Conn, *tls.ConnectionState, error) {
	conn, err := dialRaw(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	var state *tls.ConnectionState
	if tc, ok := conn.(*tls.Conn); ok {
		st := tc.ConnectionState()
		state = &st
	}
	if cfg.Trace == nil {
		return conn, state, nil
	}
	// Traced above TLS: the trace shows the chat's own bytes (passwords
	// and tokens masked by wiretrace).
	return wiretrace.Conn(conn, wiretrace.New(cfg.Trace, "client")), state, nil
}

func dialRaw(ctx context.Context, cfg *Config) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", cfg.Addr)
	if err != nil {
		return nil, &DialError{Addr: cfg.Addr, Err: err, Timeout: cfg.DialTimeout}
	}
	if cfg.TLS == nil {
		return conn, nil
	}
	tc := cfg.TLS.Clone()
	if tc.ServerName == "" {
		if host, _, err := net.SplitHostPort(cfg.Addr); err == nil {
			tc.ServerName = host
		}
	}
	tconn := tls.Client(conn, tc)
	if err := tconn.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, &DialError{Addr: cfg.Addr, Err: err, TLS: true, Timeout: cfg.DialTimeout}
	}
	return tconn, nil
}

// DialError is a failure to reach the server or to get its welcome. Its
// message names the address and the likely cause, in a person's words.
type DialError struct {
	Addr    string
	Err     error
	TLS     bool          // the failure happened in or after a TLS handshake
	Timeout time.Duration // the limit that applied, for "no answer within 5 s"
}

func (e *DialError) Unwrap() error { return e.Err }

func (e *DialError) Error() string {
	return "cannot reach " + e.Addr + ": " + e.cause()
}

// cause explains the most common failures and suggests what to do.
func (e *DialError) cause() string {
	err := e.Err
	var (
		dnsErr      *net.DNSError
		addrErr     *net.AddrError
		unknownCA   x509.UnknownAuthorityError
		hostErr     x509.HostnameError
		invalidCert x509.CertificateInvalidError
		recordErr   tls.RecordHeaderError
	)
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused — is `pynet server` running there?"
	case errors.As(err, &dnsErr):
		return "unknown host " + dnsErr.Name + " — check the address"
	case errors.As(err, &addrErr):
		return "bad address (" + addrErr.Err + ") — use HOST:PORT, e.g. 127.0.0.1:5050"
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH):
		return "no route to the host — check the address and the network"
	case errors.As(err, &unknownCA):
		return "the server's certificate is signed by an unknown authority — pass that CA with -tls-ca FILE (or skip the check with -tls-insecure)"
	case errors.As(err, &hostErr):
		return "the server's certificate is not valid for this host: " + hostErr.Error()
	case errors.As(err, &invalidCert):
		return "the server's certificate is not valid: " + invalidCert.Error()
	case errors.As(err, &recordErr):
		return "the server did not answer in TLS — drop -tls, or start the server with -tls-cert and -tls-key"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded), isTimeout(err):
		return "no answer within " + e.Timeout.String() + " — check the address; a firewall may be dropping the connection"
	case errors.Is(err, ErrSilent):
		return "no welcome within " + e.Timeout.String() + " — is this a PyNet server?"
	case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET):
		if e.TLS {
			return "the server closed the connection during the handshake — is it a PyNet server with TLS?"
		}
		return "the server closed the connection before welcoming us — if it uses TLS, add -tls"
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 && strings.HasPrefix(msg, "dial ") {
		msg = msg[i+2:] // "dial tcp 1.2.3.4:5: connect: x" says the address twice
	}
	return msg
}

// isLocalAddr reports whether addr (host:port) names this machine the way
// the server's rule for passwords does (PROTOCOL §5.5): 127.0.0.1, ::1 or
// localhost. The rest of 127.0.0.0/8 counts as remote, as on the server.
func isLocalAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && (ip.Equal(net.IPv4(127, 0, 0, 1)) || ip.Equal(net.IPv6loopback))
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
