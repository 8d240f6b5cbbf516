package attack

import (
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"pynet/protocol"
)

// scenario is one attack: an optional set-up (before the pair starts
// chatting) and the attack phase, which returns by the deadline (or
// earlier, when its attempts are done). finish runs at the end of the
// attack phase, before the connections are closed.
type scenario struct {
	setup  func(cr *crowd) error
	attack func(cr *crowd, deadline time.Time, r *AttackReport)
	finish func(cr *crowd)
}

// tail is how long joinstorm and one-address keep going once every attempt
// is answered, so that the pair sees the crowd they made.
const tail = 5 * time.Second

func scenarioFor(name string) *scenario {
	switch name {
	case "joinstorm":
		return &scenario{attack: func(cr *crowd, deadline time.Time, r *AttackReport) {
			start := time.Now()
			cr.storm(cr.cfg.Joins, func(i int) int { return i }, cr.tag+"j", deadline, nil, nil)
			r.DoneSeconds = time.Since(start).Seconds()
			cr.waitUntil(minTime(time.Now().Add(tail), deadline))
		}}
	case "one-address":
		return &scenario{attack: func(cr *crowd, deadline time.Time, r *AttackReport) {
			start := time.Now()
			cr.storm(cr.cfg.Conns, func(int) int { return 0 }, cr.tag+"o", deadline, nil, nil)
			r.DoneSeconds = time.Since(start).Seconds()
			cr.waitUntil(minTime(time.Now().Add(tail), deadline))
		}}
	case "rename":
		return renameScenario()
	case "churn":
		return churnScenario()
	case "slowloris":
		return &scenario{attack: slowloris}
	case "history-bomb":
		return bombScenario()
	}
	return nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// setupDeadline bounds a scenario's set-up.
const setupDeadline = 120 * time.Second

// renameScenario: Renamers joined connections, then each sends nick
// NickRate times a second to a new name every time.
func renameScenario() *scenario {
	var (
		mu     sync.Mutex
		joined []*net.TCPConn
	)
	return &scenario{
		setup: func(cr *crowd) error {
			cr.storm(cr.cfg.Renamers, func(i int) int { return i }, cr.tag+"r", time.Now().Add(setupDeadline), func(c *net.TCPConn) {
				mu.Lock()
				joined = append(joined, c)
				mu.Unlock()
			}, countAnswers(cr))
			return nil
		},
		attack: func(cr *crowd, deadline time.Time, r *AttackReport) {
			mu.Lock()
			conns := joined
			mu.Unlock()
			every := time.Duration(float64(time.Second) / cr.cfg.NickRate)
			var wg sync.WaitGroup
			for i, c := range conns {
				wg.Add(1)
				go func() {
					defer wg.Done()
					start := time.Now().Add(rand.N(every)) // spread, not in lockstep
					for k := 0; ; k++ {
						at := start.Add(time.Duration(k) * every)
						if !at.Before(deadline) {
							return
						}
						cr.waitUntil(at)
						if cr.ctx.Err() != nil {
							return
						}
						name := cr.tag + "r" + strconv.Itoa(i) + "n" + strconv.Itoa(k)
						b := append([]byte(`{"type":"nick","username":`), protocol.AppendString(nil, name)...)
						if cr.write(c, append(b, "}\n"...)) != nil {
							return
						}
						cr.counts.add("nick sent", 1)
					}
				}()
			}
			wg.Wait()
		},
	}
}

// countAnswers counts error frames and renamed frames a renamer gets.
func countAnswers(cr *crowd) func(line []byte) {
	return func(line []byte) {
		switch frameType(line) {
		case protocol.MsgError:
			cr.counts.add("error "+decodeSmall(line).Code, 1)
		}
	}
}

// churnScenario: RoomSize idle members, then Workers loop connect → join →
// leave.
func churnScenario() *scenario {
	return &scenario{
		setup: func(cr *crowd) error {
			if cr.cfg.RoomSize > 0 {
				cr.storm(cr.cfg.RoomSize, func(i int) int { return i }, cr.tag+"i", time.Now().Add(setupDeadline), nil, nil)
			}
			return nil
		},
		attack: func(cr *crowd, deadline time.Time, r *AttackReport) {
			var wg sync.WaitGroup
			for w := 0; w < cr.cfg.Workers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for k := 0; time.Now().Before(deadline) && cr.ctx.Err() == nil; k++ {
						cr.churnOnce(w, k, deadline)
					}
				}()
			}
			wg.Wait()
		},
	}
}

// churnOnce is one connect → join → leave of churn worker w.
func (cr *crowd) churnOnce(w, k int, deadline time.Time) {
	c, ok := cr.connect(w, 0)
	if !ok {
		cr.sleep(100 * time.Millisecond) // do not spin on a failing dial
		return
	}
	defer cr.drop(c)
	fr := newFrameReader(c, 8<<10, &cr.bytesIn)
	a := cr.join(c, fr, cr.tag+"c"+strconv.Itoa(w)+"-"+strconv.Itoa(k), deadline)
	if !a.joined {
		if a.bye != "" || a.err != nil {
			cr.sleep(100 * time.Millisecond)
		}
		return
	}
	if cr.write(c, leaveFrame) != nil {
		return
	}
	c.SetReadDeadline(time.Now().Add(answerTimeout))
	for {
		line, err := fr.next()
		if err != nil {
			if errKind(err) == "eof" {
				cr.counts.add("cycles", 1)
			}
			return
		}
		if frameType(line) == protocol.MsgBye {
			cr.counts.add("cycles", 1)
			return
		}
	}
}

// probeTime is how long a slowloris connection waits for a refusal at
// accept (bye ip_limit or server_full) before it starts its line.
const probeTime = 100 * time.Millisecond

// slowloris: Conns connections, each a partial line of Partial bytes and
// then a byte every Drip (never an LF), for the whole phase.
func slowloris(cr *crowd, deadline time.Time, r *AttackReport) {
	head := `{"type":"message","text":"`
	partial := []byte(head + strings.Repeat("a", max(cr.cfg.Partial-len(head), 0)))[:cr.cfg.Partial]
	cr.launch(cr.cfg.Conns, deadline, func(i int, release func()) {
		cr.slowConn(i, partial, release, deadline)
	}).Wait()
	cr.waitUntil(deadline) // the whole phase, even if the server closed them all
}

func (cr *crowd) slowConn(i int, partial []byte, release func(), deadline time.Time) {
	c, ok := cr.connect(i, 0)
	if !ok {
		return
	}
	fr := newFrameReader(c, 4<<10, &cr.bytesIn)
	// A refusal at accept comes at once: wait for it briefly.
	c.SetReadDeadline(time.Now().Add(probeTime))
	if line, err := fr.next(); err == nil {
		f := decodeSmall(line)
		if f.Type == protocol.MsgBye && refusal(f.Reason) {
			cr.refused.add(f.Reason, 1)
		} else {
			cr.errs.add("unexpected "+f.Type, 1)
		}
		cr.drop(c)
		return
	} else if closedAtOnce(err) {
		cr.refused.add(closedNoBye, 1)
		cr.drop(c)
		return
	} else if errKind(err) != "timeout" {
		cr.errs.add("probe "+errKind(err), 1)
		cr.drop(c)
		return
	}
	c.SetReadDeadline(time.Time{})
	cr.accepted.Add(1)
	if cr.write(c, partial) != nil {
		cr.drop(c)
		return
	}
	cr.counts.add("partial lines sent", 1)
	release()
	// The reader notes how the server ends the connection; the dripper
	// stops when it does. Pings are not answered: a pong's LF would end
	// the line.
	gone := make(chan struct{})
	cr.wg.Add(1)
	go func() {
		defer cr.wg.Done()
		defer close(gone)
		cr.hold(c, fr, false, nil)
	}()
	size := len(partial)
	next := time.Now().Add(rand.N(cr.cfg.Drip))
	for size < protocol.DefaultMaxFrame {
		if !next.Before(deadline) {
			break
		}
		t := time.NewTimer(time.Until(next))
		select {
		case <-gone:
			t.Stop()
			return
		case <-cr.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if cr.write(c, []byte{'a'}) != nil {
			break
		}
		cr.counts.add("drips", 1)
		size++
		next = next.Add(cr.cfg.Drip)
	}
	// Hold the line until the server closes it or the phase ends (the
	// harness closes the connection then).
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-gone:
	case <-cr.ctx.Done():
	case <-t.C:
	}
}

// bombsPerConn is how many bombs one bomber sends (within the burst of 40).
const bombsPerConn = 25

// bombText is the message text whose frames are largest: 4,096 bytes that
// the server's encoder escapes one for two ('"' → \"). Control characters
// other than LF and TAB are refused, and LF and TAB at the ends are
// trimmed; '"' and '\' are the characters the encoder doubles.
var bombText = strings.Repeat(`"`, protocol.MaxText)

// bombScenario: Bombs max-escaped messages fill the lobby's history; then
// NonReaders connections join with a tiny receive buffer and never read.
func bombScenario() *scenario {
	var (
		mu      sync.Mutex
		readers []*net.TCPConn
	)
	return &scenario{
		setup: func(cr *crowd) error {
			bombers := (cr.cfg.Bombs + bombsPerConn - 1) / bombsPerConn
			var wg sync.WaitGroup
			for b := 0; b < bombers; b++ {
				n := min(bombsPerConn, cr.cfg.Bombs-b*bombsPerConn)
				wg.Add(1)
				go func() {
					defer wg.Done()
					cr.bomber(b, n)
				}()
			}
			wg.Wait()
			return nil
		},
		attack: func(cr *crowd, deadline time.Time, r *AttackReport) {
			r.BombFrameBytes = len(protocol.NewFrame(nil, protocol.MsgMessage).Int("id", 100000).Str("from", cr.tag+"b0").
				Str("text", bombText).Str("room", protocol.Lobby).Time("ts", time.Now()).Bool("history", true).End())
			cr.launch(cr.cfg.NonReaders, deadline, func(i int, release func()) {
				defer release()
				c, ok := cr.connect(i, nonReaderRcvBuf)
				if !ok {
					return
				}
				cr.accepted.Add(1) // never read: whatever the server says
				if cr.write(c, joinFrame(cr.tag+"n"+strconv.Itoa(i))) != nil {
					cr.errs.add("join write", 1)
					cr.drop(c)
					return
				}
				mu.Lock()
				readers = append(readers, c)
				mu.Unlock()
			}).Wait()
			cr.waitUntil(deadline)
		},
		finish: func(cr *crowd) {
			// Which of the non-readers has the server closed? Their state
			// says it (Linux; reading would not: their buffers are full).
			mu.Lock()
			defer mu.Unlock()
			for _, c := range readers {
				switch tcpState(c) {
				case tcpEstablished:
					cr.counts.add("non-readers open at the end", 1)
				case tcpUnknown:
				default:
					cr.counts.add("non-readers closed by the server", 1)
				}
			}
		},
	}
}

// nonReaderRcvBuf is the receive buffer a non-reader asks for (the kernel
// doubles it and applies its minimum): what an attacker would do to leave
// as much as possible on the server's side.
const nonReaderRcvBuf = 4096

// bomber joins from attacker address b and sends n bombs, then stays.
func (cr *crowd) bomber(b, n int) {
	c, ok := cr.connect(b, 0)
	if !ok {
		return
	}
	fr := newFrameReader(c, 64<<10, &cr.bytesIn)
	if a := cr.join(c, fr, cr.tag+"b"+strconv.Itoa(b), time.Now().Add(setupDeadline)); !a.joined {
		cr.drop(c)
		return
	}
	text := protocol.AppendString(nil, bombText)
	for k := 0; k < n; k++ {
		f := append([]byte(`{"type":"message","text":`), text...)
		f = append(f, `,"ref":"b`...)
		f = strconv.AppendInt(f, int64(k), 10)
		f = append(f, "\"}\n"...)
		if cr.write(c, f) != nil {
			cr.drop(c)
			return
		}
	}
	// Wait for the answers (ack or error) to the n bombs.
	c.SetReadDeadline(time.Now().Add(answerTimeout))
	for got := 0; got < n; {
		line, err := fr.next()
		if err != nil {
			cr.errs.add("bomber "+errKind(err), 1)
			cr.drop(c)
			return
		}
		switch frameType(line) {
		case protocol.MsgAck:
			cr.counts.add("bombs acked", 1)
			got++
		case protocol.MsgError:
			cr.counts.add("bomb error "+decodeSmall(line).Code, 1)
			got++
		}
	}
	c.SetReadDeadline(time.Time{})
	cr.wg.Add(1)
	go func() {
		defer cr.wg.Done()
		cr.hold(c, fr, true, nil)
	}()
}
