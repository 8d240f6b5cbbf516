package main

import (
	"bytes"
	"net"
	"testing"
	"time"

	"pynet/internal/server"
	"pynet/internal/servertest"
)

func TestHealth(t *testing.T) {
	srv := servertest.Start(t, nil)
	var out, errb bytes.Buffer
	if code := healthMain([]string{"-addr", srv.Addr}, &out, &errb); code != 0 || out.String() != "ok\n" {
		t.Fatalf("healthy server: %d %q %q", code, out.String(), errb.String())
	}
	full := servertest.Start(t, func(c *server.Config) { c.MaxClients = 1 })
	hold, err := net.Dial("tcp", full.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	hold.Write([]byte(`{"type":"ping","ref":"x"}` + "\n"))
	hold.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := hold.Read(make([]byte, 64)); err != nil { // the pong: the place is taken
		t.Fatal(err)
	}
	errb.Reset()
	if code := healthMain([]string{"-addr", full.Addr}, &out, &errb); code != 1 || !bytes.Contains(errb.Bytes(), []byte("server_full")) {
		t.Fatalf("full server: %d %q", code, errb.String())
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0") // accepts, never answers
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	errb.Reset()
	if code := healthMain([]string{"-addr", ln.Addr().String(), "-timeout", "200ms"}, &out, &errb); code != 1 {
		t.Fatalf("silent server: %d %q", code, errb.String())
	}
	if code := healthMain([]string{"-bogus"}, &out, &errb); code != 2 {
		t.Fatalf("bad flag: %d", code)
	}
}
