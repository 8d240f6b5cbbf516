package client

import (
	"io"
	"net"
	"sync"
	"testing"
)

// proxy forwards loopback connections to a server and can cut them all at
// once, to simulate a network failure that the server's bye cannot report.
// It can also cut only the client's side (the server keeps a stale
// connection it thinks is alive), and hold new connections until released.
type proxy struct {
	addr   string
	target string
	ln     net.Listener
	wg     sync.WaitGroup

	mu    sync.Mutex
	pairs []*proxyPair
	gate  chan struct{} // non-nil: new connections wait for it to close
}

type proxyPair struct {
	client, server net.Conn
	stale          bool // the client side was cut; the server side is left open
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{addr: ln.Addr().String(), target: target, ln: ln}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Add(1)
			go p.serve(c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		p.release()
		p.cut()
		p.wg.Wait()
	})
	return p
}

func (p *proxy) serve(c net.Conn) {
	defer p.wg.Done()
	p.mu.Lock()
	gate := p.gate
	p.mu.Unlock()
	if gate != nil {
		<-gate
	}
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	pr := &proxyPair{client: c, server: s}
	p.mu.Lock()
	p.pairs = append(p.pairs, pr)
	p.mu.Unlock()
	p.wg.Add(2)
	go p.pipe(pr, s, c)
	go p.pipe(pr, c, s)
}

func (p *proxy) pipe(pr *proxyPair, dst, src net.Conn) {
	defer p.wg.Done()
	io.Copy(dst, src)
	p.mu.Lock()
	stale := pr.stale
	p.mu.Unlock()
	pr.client.Close()
	if !stale {
		pr.server.Close()
	}
}

// cut closes every connection made so far, both sides (stale ones too).
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pr := range p.pairs {
		pr.client.Close()
		pr.server.Close()
	}
	p.pairs = nil
}

// cutClient closes the client's side of every connection and leaves the
// server's open and silent: to the server the user is still there.
func (p *proxy) cutClient() {
	p.mu.Lock()
	defer p.mu.Unlock()
	kept := p.pairs[:0]
	for _, pr := range p.pairs {
		pr.stale = true
		pr.client.Close()
		kept = append(kept, pr)
	}
	p.pairs = kept
}

// hold makes new connections wait until release.
func (p *proxy) hold() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gate == nil {
		p.gate = make(chan struct{})
	}
}

// release lets held connections through.
func (p *proxy) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gate != nil {
		close(p.gate)
		p.gate = nil
	}
}
