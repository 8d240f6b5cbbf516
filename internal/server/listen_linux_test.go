package server_test

import (
	"context"
	"net"
	"syscall"
	"testing"

	"pynet/internal/server"
)

// TestListenKeepAliveOnlyWithoutIdleTimeout: with an idle timeout the
// server finds dead peers itself, so accepted sockets carry no TCP
// keep-alive; with the timeout off, the kernel's keep-alive is the only
// thing that would find a peer that vanished, so it stays on.
func TestListenKeepAliveOnlyWithoutIdleTimeout(t *testing.T) {
	for _, tc := range []struct {
		idle bool
		want int
	}{{true, 0}, {false, 1}} {
		cfg := server.DefaultConfig()
		if !tc.idle {
			cfg.IdleTimeout = 0
		}
		srv, err := server.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ln, err := srv.Listen(context.Background(), "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		nc, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		ac, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		rc, err := ac.(*net.TCPConn).SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		got, gerr := -1, error(nil)
		rc.Control(func(fd uintptr) {
			got, gerr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_KEEPALIVE)
		})
		if gerr != nil {
			t.Fatal(gerr)
		}
		if (got != 0) != (tc.want != 0) {
			t.Errorf("idle timeout %v: SO_KEEPALIVE = %d, want %d", tc.idle, got, tc.want)
		}
		ac.Close()
		nc.Close()
		ln.Close()
	}
}
