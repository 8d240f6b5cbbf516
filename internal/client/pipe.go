package client

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"pynet/internal/term"
	"pynet/protocol"
)

// RunPipe is the client without a terminal: each line of in is one public
// message, sent in order and all of them; what arrives is printed on out
// (text lines, or the raw frames with opts.JSON); problems go to errw. At
// the end of in it leaves, waits for the server's bye and returns 0, or 1
// if some lines could not be sent. Failing to join returns 1 (2 without a
// name).
//
// Delivery: every message carries a ref and is resent on rate_limited
// after retry_after_ms. While the server limits the rate, only one message
// is in flight at a time: with several, a refused one could be overtaken
// by the next, and the order would be lost. Without a limit a window of
// unanswered messages keeps the pipe full.
func RunPipe(ctx context.Context, opts Options, in io.Reader, out, errw io.Writer) int {
	if opts.Name == "" {
		fmt.Fprintln(errw, "pynet client: -name is required when stdin is not a terminal")
		return 2
	}
	s, err := Join(ctx, opts.Config, opts.Name)
	if err != nil {
		if ctx.Err() != nil {
			return 1
		}
		fmt.Fprintln(errw, "pynet client: "+err.Error())
		return 1
	}
	defer s.Close()
	lines := make(chan inputLine, 64)
	go readLines(in, lines, opts.OnPanic)
	p := &pipe{
		s:      s,
		out:    out,
		errw:   errw,
		json:   opts.JSON,
		r:      &term.Renderer{Color: opts.Color, Self: s.Name()},
		lines:  lines,
		window: pipeWindow(s.Welcome().Limits),
	}
	return p.run(ctx)
}

// Window sizes of pipe mode: see RunPipe.
const (
	windowLimited   = 1
	windowUnlimited = 64
	// leaveWait bounds the wait for bye after leave.
	leaveWait = 5 * time.Second
)

func pipeWindow(l *protocol.Limits) int {
	if l != nil && (l.Rate == 0 || l.Burst == 0) {
		return windowUnlimited
	}
	return windowLimited
}

// outgoing is one stdin line on its way to the server.
type outgoing struct {
	n    int    // line number among the messages, for error reports
	ref  string // "" until first sent
	text string
	sent bool // sent and not yet answered
}

// pipe is pipe mode's state; it belongs to RunPipe's goroutine.
type pipe struct {
	s     *Session
	out   io.Writer
	errw  io.Writer
	json  bool
	r     *term.Renderer
	lines <-chan inputLine

	queue    []outgoing // read and not yet accepted, in stdin order; at most maxQueued
	inflight int        // entries of queue with sent set
	window   int
	resumeAt time.Time // after rate_limited, send nothing before this
	numbered int       // messages read so far
	nextRef  uint64
	failed   int
	eof      bool
	leaving  bool
	// releaveAt is when to resend a leave the rate limit refused; zero
	// when none is due.
	releaveAt time.Time
}

// maxQueued bounds the lines read ahead of the server's answers.
const maxQueued = 256

func (p *pipe) run(ctx context.Context) int {
	var leaveTimer <-chan time.Time
	resume := time.NewTimer(time.Hour)
	resume.Stop()
	defer resume.Stop()
	for {
		wait := p.sendReady()
		if !p.releaveAt.IsZero() {
			if w := time.Until(p.releaveAt); w > 0 {
				wait = minPositive(wait, w)
			} else {
				p.releaveAt = time.Time{}
				p.s.Leave()
			}
		}
		if wait > 0 {
			resume.Reset(wait)
		}
		if p.eof && len(p.queue) == 0 && !p.leaving {
			p.leaving = true
			if p.s.Leave() != nil {
				return p.exitCode()
			}
			leaveTimer = time.After(leaveWait)
		}
		lines := p.lines
		if p.eof || len(p.queue) >= maxQueued {
			lines = nil // read no further ahead: stdin waits
		}
		select {
		case l, ok := <-lines:
			if !ok {
				p.eof = true
				continue
			}
			p.take(l)
		case f, ok := <-p.s.Frames():
			if !ok {
				return p.ended()
			}
			p.frame(f)
		case <-resume.C:
		case <-leaveTimer:
			return p.exitCode()
		case <-ctx.Done():
			if p.s.Leave() == nil {
				drain(p.s, time.Second)
			}
			fmt.Fprintln(p.errw, "pynet client: interrupted")
			return 1
		}
	}
}

// take queues one line of stdin, or reports why it cannot be sent.
func (p *pipe) take(l inputLine) {
	switch {
	case l.err != nil:
		fmt.Fprintf(p.errw, "pynet client: reading stdin: %v\n", l.err)
		p.eof = true
		return
	case l.tooLong:
		p.numbered++
		p.refuse(p.numbered, fmt.Sprintf("longer than %d bytes, skipped", maxInputLine))
		return
	}
	text, perr := protocol.CheckText(l.text)
	if perr != nil {
		if perr.Code == protocol.CodeEmptyMessage {
			return // a blank line is not a message
		}
		p.numbered++
		p.refuse(p.numbered, term.Cause(protocol.ServerFrame{Code: perr.Code, Message: perr.Message}, term.Request{}))
		return
	}
	p.numbered++
	p.queue = append(p.queue, outgoing{n: p.numbered, text: text})
}

// sendReady sends queued messages while the window allows, oldest first;
// it returns how long to wait before trying again (0: nothing to wait for).
func (p *pipe) sendReady() time.Duration {
	if p.inflight == len(p.queue) {
		return 0 // nothing waits to be sent
	}
	if wait := time.Until(p.resumeAt); wait > 0 {
		return wait
	}
	for i := range p.queue {
		if p.inflight >= p.window {
			break
		}
		o := &p.queue[i]
		if o.sent {
			continue
		}
		p.nextRef++
		o.ref = "p" + strconv.FormatUint(p.nextRef, 10)
		if p.s.Send(messageFrame(o.ref, o.text)) != nil {
			return 0 // the reader notices the dead connection
		}
		o.sent = true
		p.inflight++
	}
	return 0
}

// frame handles one frame from the server.
func (p *pipe) frame(f Frame) {
	if p.json {
		p.out.Write(append(f.Raw, '\n'))
	}
	switch f.Type {
	case protocol.MsgAck:
		if i := p.find(f.Ref); i >= 0 {
			p.remove(i)
		}
		return
	case protocol.MsgError:
		if wait, ok := isLeaveRefused(f.ServerFrame); ok {
			p.releaveAt = time.Now().Add(wait)
			return
		}
		if i := p.find(f.Ref); i >= 0 {
			if f.Code == protocol.CodeRateLimited {
				p.queue[i].sent = false
				p.inflight--
				p.window = windowLimited
				p.resumeAt = time.Now().Add(time.Duration(f.RetryAfterMS) * time.Millisecond)
				return
			}
			p.refuse(p.queue[i].n, term.Cause(f.ServerFrame, term.Request{Type: protocol.MsgMessage}))
			p.remove(i)
			return
		}
		fmt.Fprintln(p.errw, "pynet client: "+term.Explain(f.ServerFrame, term.Request{}))
		return
	case protocol.MsgRenamed:
		if protocol.FoldName(p.r.Self) == protocol.FoldName(f.From) {
			defer func() { p.r.Self = f.To }()
		}
	case protocol.MsgBye:
		return // reported by ended
	}
	if !p.json {
		for _, l := range p.r.Frame(f.ServerFrame) {
			io.WriteString(p.out, l.Plain()+"\n")
		}
	}
}

func (p *pipe) find(ref string) int {
	if ref == "" {
		return -1
	}
	for i := range p.queue {
		if p.queue[i].sent && p.queue[i].ref == ref {
			return i
		}
	}
	return -1
}

func (p *pipe) remove(i int) {
	if p.queue[i].sent {
		p.inflight--
	}
	p.queue = append(p.queue[:i], p.queue[i+1:]...)
}

func (p *pipe) refuse(n int, why string) {
	p.failed++
	fmt.Fprintf(p.errw, "pynet client: message %d not sent: %s\n", n, why)
}

// ended reports how the connection ended and returns the exit status.
func (p *pipe) ended() int {
	if p.leaving { // everything was accepted before we left
		return p.exitCode()
	}
	fmt.Fprintf(p.errw, "pynet client: %v", p.s.Err())
	if n := len(p.queue); n > 0 {
		fmt.Fprintf(p.errw, " (%d messages not delivered)", n)
	}
	fmt.Fprintln(p.errw)
	return 1
}

// drain discards a session's frames until it ends or timeout passes, so a
// leave can be answered before the connection is closed.
func drain(s *Session, timeout time.Duration) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case _, ok := <-s.Frames():
			if !ok {
				return
			}
		case <-t.C:
			return
		}
	}
}

func (p *pipe) exitCode() int {
	if p.failed > 0 {
		fmt.Fprintf(p.errw, "pynet client: %d of %d messages were not sent\n", p.failed, p.numbered)
		return 1
	}
	return 0
}

// minPositive is the smaller of a and b, ignoring a zero a.
func minPositive(a, b time.Duration) time.Duration {
	if a <= 0 || b < a {
		return b
	}
	return a
}
