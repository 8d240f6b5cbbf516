package server

import (
	"errors"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"pynet/internal/wiretrace"
)

// outQueue is one connection's outbound queue and the only code that writes
// to its socket.
//
// Rules:
//  1. enqueue never blocks and never does I/O: it appends a shared, read-only
//     frame and, if no writer is running, starts one. So the room can fan a
//     message out to thousands of queues while holding its lock.
//  2. Counted bytes (everything but a joiner's welcome and history replay)
//     are bounded by limit, counting frames queued and frames being written.
//     A frame that would pass the limit is refused, and the caller treats the
//     connection as a slow consumer.
//  3. At most one writer works on a queue at a time (q.writing), and only
//     while there is something to write, so an idle connection costs no
//     goroutine. The writer is first the server's writer pool (writepool.go):
//     a worker takes everything pending and makes one non-blocking write. If
//     the socket does not take it all (or it is a replay, or the queue is
//     closing), a writer goroutine of the queue's own takes over and writes
//     under a write deadline until the queue is empty. Either writes without
//     holding the lock, in as few syscalls as it can. (A TLS connection is
//     written through a tlsSink, which never waits: what the socket does not
//     take waits in its stash for the writer goroutine. Until its handshake is
//     over, a TLS connection always gets the goroutine.)
//  4. After closeAfter the queue is final: later frames are dropped, the
//     writer drains what is left (or gives up at the final deadline) and then
//     closes done. The connection's reader goroutine waits for done before it
//     closes the socket.
type outQueue struct {
	nc      net.Conn
	limit   int           // counted bytes allowed in the queue
	timeout time.Duration // for one write
	srv     *Server       // wg, stats, trace
	// onFail is called by the writer, without the lock held, when a write
	// fails: the connection must go, with reason slow_consumer (the write
	// timed out) or disconnect.
	onFail func(reason string)
	trace  *wiretrace.Tracer // nil unless tracing
	// startFn is q.writeLoop as a func value, made once: `go q.writeLoop()`
	// would allocate a closure at every start of the writer.
	startFn func()
	// raw is the socket for the writer pool's non-blocking writes; nil
	// means a writer goroutine for every burst (a TLS connection before its
	// handshake is over, or no socket underneath). Set under mu.
	raw syscall.RawConn
	// sink is the layer under a TLS connection (nil for plain TCP): writes
	// through q.nc never wait, and the writer goroutine flushes its stash.
	sink *tlsSink

	mu        sync.Mutex // protects the fields below
	frames    [][]byte   // frames to write; a nil entry stands for the next of srcs
	srcs      []replaySource
	spare     [][]byte  // the slice the writer gave back, reused for frames
	pending   int       // counted bytes queued or being written
	unswapped int       // counted bytes in frames, not yet taken by the writer
	writing   bool      // a writer has the queue: on the pool's list, in a worker's turn, or a writer goroutine
	lazy      bool      // on the lazy flusher's list
	final     bool      // closeAfter was called or a write failed
	failed    bool      // a write failed: the peer will not get the rest
	deadline  time.Time // write deadline in force for the writer
	done      chan struct{}
	doneSent  bool
}

func newOutQueue(srv *Server, nc net.Conn, trace *wiretrace.Tracer, onFail func(string)) *outQueue {
	q := &outQueue{
		nc:      nc,
		limit:   srv.cfg.MaxQueue,
		timeout: srv.cfg.WriteTimeout,
		srv:     srv,
		onFail:  onFail,
		trace:   trace,
		done:    make(chan struct{}),
	}
	q.startFn = q.writeLoop
	q.raw = rawConnOf(nc)
	if q.sink = sinkOf(nc); q.sink != nil {
		q.sink.kick = q.kickStash
	}
	return q
}

// handshakeDone lets the pool write a TLS connection: the reader calls it
// once a line has arrived, so the handshake is over and tls.Conn.Write no
// longer reads from the socket.
func (q *outQueue) handshakeDone() {
	if q.sink == nil {
		return
	}
	q.sink.setReady()
	q.mu.Lock()
	q.raw = q.sink.raw
	q.mu.Unlock()
}

// kickStash gets a writer goroutine to flush the TLS sink's stash when
// none has the queue: the reader's own TLS writes (alerts, key updates) can
// leave bytes there while the queue is idle. Called without s.mu held.
func (q *outQueue) kickStash() {
	q.mu.Lock()
	if !q.writing && !q.doneSent {
		q.writing = true
		q.goWriterLocked()
	}
	q.mu.Unlock()
}

// stashedLocked reports whether a TLS sink holds bytes to flush: the queue
// is not idle while it does.
func (q *outQueue) stashedLocked() bool { return q.sink != nil && q.sink.pending() }

// enqueueSource queues a replay: a source the writer expands into frames
// when it reaches it (replays are read from history as the connection
// drains, PROTOCOL §5.4). In frames it is a nil entry, and the source waits
// in srcs: the hot path keeps plain [][]byte entries. It does not count against the limit: it
// holds no bytes until the writer reaches it, and then produces at most
// replayChunk bytes at a time. Frames queued after it wait behind it.
func (q *outQueue) enqueueSource(src replaySource) {
	q.mu.Lock()
	if !q.final {
		q.frames = append(q.frames, nil)
		q.srcs = append(q.srcs, src)
		q.startWriterLocked()
	}
	q.mu.Unlock()
}

// enqueue queues frame for writing. counted says whether it counts against
// the limit. It returns false, queueing nothing, when the frame would pass
// the limit; on a final queue it drops the frame and returns true.
func (q *outQueue) enqueue(frame []byte, counted bool) bool {
	return q.enqueueFrame(frame, counted, false)
}

// enqueueFrame is enqueue with one more choice: a lazy frame (a membership
// announcement) may wait up to lazyDelay for its write, so that a burst of
// them shares one write.
func (q *outQueue) enqueueFrame(frame []byte, counted, lazy bool) bool {
	q.mu.Lock()
	if q.final {
		q.mu.Unlock()
		return true
	}
	if counted {
		if q.pending+len(frame) > q.limit {
			q.mu.Unlock()
			return false
		}
		q.pending += len(frame)
		q.unswapped += len(frame)
		if int64(q.pending) > q.srv.stats.MaxQueueSeen.Load() {
			q.srv.stats.noteQueue(q.pending)
		}
	}
	if n := len(q.frames); n == cap(q.frames) && n >= poolFrom {
		// A burst: take a large slice an idle queue gave back rather than
		// growing this one step by step. Under steady load queues go idle
		// and busy all the time, and regrowing their slices from 8 to 32
		// and beyond was 5 % of the server's CPU.
		if big := getFrameSlice(); cap(big) > n {
			q.frames = append(big, q.frames...)
		}
	}
	q.frames = append(q.frames, frame)
	switch {
	case q.writing:
	case lazy:
		if !q.lazy {
			q.lazy = true
			q.srv.lazy.add(q)
		}
	default:
		q.startWriterLocked()
	}
	q.mu.Unlock()
	return true
}

// flushLazy starts the writer for frames that were left waiting.
func (q *outQueue) flushLazy() {
	q.mu.Lock()
	q.lazy = false
	if len(q.frames) > 0 {
		q.startWriterLocked()
	}
	q.mu.Unlock()
}

// closeAfter makes the queue final: bye (if not nil) is the last frame, and
// writing must end by grace from now. dropUnsent discards frames the writer
// has not taken yet, so that bye can go out as soon as the socket takes it
// (used for slow consumers). It reports false if the queue was already
// final (bye is then dropped).
func (q *outQueue) closeAfter(bye []byte, grace time.Duration, dropUnsent bool) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.final {
		return false
	}
	q.final = true
	if dropUnsent {
		clear(q.frames)
		q.frames = q.frames[:0]
		clear(q.srcs)
		q.srcs = nil
		q.pending -= q.unswapped
		q.unswapped = 0
	}
	if bye != nil {
		q.frames = append(q.frames, bye)
	}
	// The final deadline. A write in progress may only be cut shorter; with
	// no writer running, q.deadline is a stale one from the last write, and
	// a zero one means the pool is writing (without a deadline).
	if dl := time.Now().Add(grace); !q.writing || q.deadline.IsZero() || dl.Before(q.deadline) {
		q.deadline = dl
		if q.writing {
			q.nc.SetWriteDeadline(dl)
		}
	}
	if len(q.frames) == 0 && !q.writing {
		q.signalDoneLocked()
		return true
	}
	q.startWriterLocked()
	return true
}

// startWriterLocked gets q written: by the writer pool if the socket allows
// it, else by a writer goroutine of its own.
func (q *outQueue) startWriterLocked() {
	if q.writing {
		return
	}
	q.writing = true
	if q.raw != nil {
		q.srv.writers.submit(q)
		return
	}
	q.goWriterLocked()
}

// goWriterLocked starts a writer goroutine; q.writing is set.
func (q *outQueue) goWriterLocked() {
	q.srv.wg.Add(1)
	go q.startFn() // a stored func value: starting the writer allocates nothing
}

// writeFailed reports whether a write failed, once done is closed.
func (q *outQueue) writeFailed() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.failed
}

func (q *outQueue) signalDoneLocked() {
	if !q.doneSent {
		q.doneSent = true
		close(q.done)
	}
}

// writeLoop is the writer goroutine. It runs while frames are pending and
// returns when the queue is empty (or the socket failed).
func (q *outQueue) writeLoop() {
	defer q.srv.wg.Done()
	q.drain()
}

// drain writes batches, waiting for the socket under the write deadline,
// until the queue is empty or a write fails.
func (q *outQueue) drain() {
	for {
		q.mu.Lock()
		if len(q.frames) == 0 {
			if q.stashedLocked() {
				q.armDeadlineLocked()
				q.mu.Unlock()
				if err := q.sink.flush(); err != nil {
					q.written(nil, 0, err)
					return
				}
				continue
			}
			q.goIdleLocked()
			q.mu.Unlock()
			return
		}
		batch, srcs, counted := q.takeLocked()
		q.armDeadlineLocked()
		q.mu.Unlock()

		if !q.written(batch, counted, q.write(batch, srcs)) {
			return
		}
	}
}

// armDeadlineLocked sets the deadline for a writer goroutine's next write:
// WriteTimeout from now, or the final one if closeAfter set a sooner one.
// It is set under the lock so that closeAfter's shorter deadline cannot be
// overwritten by a stale one.
func (q *outQueue) armDeadlineLocked() {
	dl := time.Now().Add(q.timeout)
	if q.final && !q.deadline.IsZero() && q.deadline.Before(dl) {
		dl = q.deadline
	} else {
		q.deadline = dl
	}
	q.nc.SetWriteDeadline(dl)
}

// takeLocked takes everything queued for one batch.
func (q *outQueue) takeLocked() (batch [][]byte, srcs []replaySource, counted int) {
	batch, srcs, counted = q.frames, q.srcs, q.unswapped
	q.frames, q.spare, q.srcs, q.unswapped = q.spare[:0], nil, nil, 0
	return batch, srcs, counted
}

// goIdleLocked ends a writer's turn: the queue is empty.
func (q *outQueue) goIdleLocked() {
	q.writing = false
	// Give back slices a burst made large, so an idle connection holds
	// little (to a pool that the next busy queue takes them from, so bursts
	// do not regrow them). While busy, the writer keeps them.
	if cap(q.frames) > maxSpare {
		putFrameSlice(q.frames)
		q.frames = nil
	}
	if cap(q.spare) > maxSpare {
		putFrameSlice(q.spare)
		q.spare = nil
	}
	if q.final {
		q.signalDoneLocked()
	}
}

// written settles a batch after its write: its counted bytes leave the
// queue, and its slice is kept for the next. After a failed write the
// queue is final and empty, onFail has been called, and it returns false.
func (q *outQueue) written(batch [][]byte, counted int, err error) bool {
	q.mu.Lock()
	q.pending -= counted
	clear(batch)
	q.spare = batch[:0]
	if err != nil {
		clear(q.frames)
		q.frames, q.srcs, q.unswapped, q.pending = nil, nil, 0, 0
		q.final, q.writing, q.failed = true, false, true
		q.signalDoneLocked()
		q.mu.Unlock()
		reason := "disconnect"
		if errors.Is(err, os.ErrDeadlineExceeded) {
			reason = "slow_consumer"
		}
		q.onFail(reason)
		return false
	}
	q.mu.Unlock()
	return true
}

// writeSome is a pool worker's turn at q: it writes one batch if the socket
// takes it at once, and reports whether more is queued (q goes back on the
// pool's list). Whatever must wait for the socket — a full socket, a
// replay, a batch too big for one write, a closing queue — is handed to a
// writer goroutine of q's own, which then owns q until it is empty.
func (q *outQueue) writeSome(w *nonblockWriter) (more bool) {
	q.mu.Lock()
	if len(q.frames) == 0 {
		q.endTurnLocked()
		q.mu.Unlock()
		return false
	}
	if q.final || len(q.srcs) > 0 {
		q.goWriterLocked()
		q.mu.Unlock()
		return false
	}
	if !q.deadline.IsZero() {
		// Left by a writer goroutine: once passed, it would fail the
		// non-blocking write too.
		q.deadline = time.Time{}
		q.nc.SetWriteDeadline(q.deadline)
	}
	batch, _, counted := q.takeLocked()
	q.mu.Unlock()

	out, bp, pool := coalesce(batch)
	if out == nil || q.sink != nil && len(out) > coalesceLimit {
		// Too big for one write (with TLS, for the sink's stash).
		q.handOver(batch, counted, func() error { return q.write(batch, nil) })
		return false
	}
	var n int
	var err error
	if q.sink != nil {
		n, err = q.nc.Write(out) // through the sink: it does not wait
	} else {
		n, err = w.write(q.raw, out)
	}
	q.count(out, n, err)
	if err == nil && n < len(out) { // a plain socket took part of it
		rest := out[n:]
		q.handOver(batch, counted, func() error {
			err := q.writeOut(rest)
			if bp != nil {
				*bp = (*bp)[:0]
				pool.Put(bp)
			}
			return err
		})
		return false
	}
	if bp != nil {
		*bp = out[:0]
		pool.Put(bp)
	}
	if err == nil && q.sink != nil && q.sink.pending() {
		// TLS: the encrypted rest waits in the sink's stash.
		q.handOver(batch, counted, q.sink.flush)
		return false
	}
	if !q.written(batch, counted, err) {
		return false
	}
	q.mu.Lock()
	more = len(q.frames) > 0
	if !more {
		q.endTurnLocked()
	}
	q.mu.Unlock()
	return more
}

// endTurnLocked ends a pool turn that found nothing more to write: the
// queue goes idle, unless the reader's own TLS writes left bytes in the
// sink's stash meanwhile, which a writer goroutine must flush.
func (q *outQueue) endTurnLocked() {
	if q.stashedLocked() {
		q.goWriterLocked()
		return
	}
	q.goIdleLocked()
}

// handOver starts a writer goroutine for a batch the pool began: finish
// writes what the pool could not (the rest of it, the whole batch, or a TLS
// sink's stash) under the write deadline; then the batch is settled and
// the goroutine goes on as writeLoop.
func (q *outQueue) handOver(batch [][]byte, counted int, finish func() error) {
	q.srv.wg.Add(1)
	go func() {
		defer q.srv.wg.Done()
		q.mu.Lock()
		q.armDeadlineLocked()
		q.mu.Unlock()
		if q.written(batch, counted, finish()) {
			q.drain()
		}
	}()
}

// coalesce makes batch one write: the frame itself if it is alone, else
// the frames copied into a pooled buffer (bp, to give back to pool). It
// returns nil if they take more than coalesceLimit bytes.
func coalesce(batch [][]byte) (out []byte, bp *[]byte, pool *sync.Pool) {
	if len(batch) == 1 {
		return batch[0], nil, nil
	}
	n := 0
	for _, f := range batch {
		n += len(f)
	}
	if n > coalesceLimit {
		return nil, nil, nil
	}
	bp, pool = bufFor(n)
	out = (*bp)[:0]
	for _, f := range batch {
		out = append(out, f...)
	}
	return out, bp, pool
}

// poolFrom is the length from which a full frame slice is replaced by a
// large one from frameSlices instead of growing. Below it, slices grow by
// append and stay with the queue when it goes idle: a queue that gets one
// frame at a time never touches the pool.
const poolFrom = 8

// maxSpare is the largest frame slice an idle queue keeps: enough for
// ordinary bursts, small enough that an idle connection does not hold on to
// what a burst made it grow to. A busy writer keeps whatever it has.
const maxSpare = 32

// coalesceLimit is how many bytes of small frames are copied together into
// one write.
const coalesceLimit = 64 << 10

// replayChunk is about how many bytes of a replay are made at a time: a
// joiner that does not read holds at most this much of its replay in the
// server (plus its kernel send buffer, see sendBuffer), however long the
// replay (PROTOCOL §5.4).
const replayChunk = 16 << 10

// frameSlices keeps the frame slices idle queues give back, so that a queue
// that gets busy again does not regrow its slice from nothing.
var frameSlices sync.Pool

func getFrameSlice() [][]byte {
	if p, ok := frameSlices.Get().(*[][]byte); ok {
		return *p
	}
	return nil
}

func putFrameSlice(s [][]byte) {
	clear(s[:cap(s)])
	s = s[:0]
	frameSlices.Put(&s)
}

// smallWrite is the size of the buffers that coalesce small batches. Most
// batches are a few frames (a join storm's announcements: a few KB); a
// buffer of coalesceLimit for each would make a burst of a thousand writers
// take 64 MB at once, which the runtime then keeps as idle heap long after
// the burst.
const smallWrite = 4 << 10

// Coalescing buffers, two sizes: writeBufs for batches of up to smallWrite
// bytes, bigWriteBufs for larger ones and for replays.
var (
	writeBufs    = sync.Pool{New: func() any { b := make([]byte, 0, smallWrite); return &b }}
	bigWriteBufs = sync.Pool{New: func() any { b := make([]byte, 0, coalesceLimit); return &b }}
)

// writeBuf takes a coalescing buffer for batch from the pool that fits it,
// and returns the pool to give it back to.
func writeBuf(batch [][]byte) (*[]byte, *sync.Pool) {
	n := 0
	for _, f := range batch {
		if f == nil { // a replay: chunks of up to replayChunk bytes
			n = coalesceLimit
			break
		}
		if n += len(f); n > smallWrite {
			break
		}
	}
	return bufFor(n)
}

// bufFor takes a coalescing buffer for n bytes, and returns the pool to
// give it back to.
func bufFor(n int) (*[]byte, *sync.Pool) {
	pool := &writeBufs
	if n > smallWrite {
		pool = &bigWriteBufs
	}
	return pool.Get().(*[]byte), pool
}

// write sends a batch of frames with as few syscalls as it can: a single
// frame goes out as it is; several are copied into one pooled buffer of up
// to coalesceLimit bytes, so a burst of small frames costs one write (and,
// with TLS, one record) rather than one each. Copying ~100-byte frames is
// far cheaper than the syscalls it saves. (writev through net.Buffers would
// avoid the copy, but the runtime keeps each socket's largest iovec array
// for good, which costs idle connections memory after a burst.) A replay
// source in the batch is expanded here, a chunk at a time, each chunk
// written before the next is read.
func (q *outQueue) write(batch [][]byte, srcs []replaySource) error {
	if len(batch) == 1 && batch[0] != nil {
		return q.writeOut(batch[0])
	}
	bp, pool := writeBuf(batch)
	defer pool.Put(bp)
	buf := (*bp)[:0]
	for _, f := range batch {
		if f == nil {
			var err error
			buf, err = q.writeSource(buf, srcs[0])
			srcs[0], srcs = nil, srcs[1:]
			if err != nil {
				return err
			}
			continue
		}
		if len(buf) > 0 && len(buf)+len(f) > coalesceLimit {
			if err := q.writeOut(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
		if len(buf) == 0 && len(f) >= coalesceLimit {
			if err := q.writeOut(f); err != nil {
				return err
			}
			continue
		}
		buf = append(buf, f...)
	}
	if len(buf) > 0 {
		return q.writeOut(buf)
	}
	return nil
}

// writeSource writes what a replay source produces, after buf (frames
// waiting to be coalesced), and returns buf emptied for reuse.
func (q *outQueue) writeSource(buf []byte, src replaySource) ([]byte, error) {
	for {
		var done bool
		var err error
		chunk := min(replayChunk, q.limit) // PROTOCOL §5.4: at most max_queue bytes of replay at a time
		buf, done, err = src.fill(buf, chunk)
		if err != nil {
			q.srv.log.Error("replay failed; closing the connection", "err", err)
			return buf[:0], err
		}
		if len(buf) > 0 && (done || len(buf) >= chunk) {
			// Each chunk gets a fresh write deadline: a long replay to a
			// reader that keeps up is not a slow consumer.
			q.mu.Lock()
			q.armDeadlineLocked()
			q.mu.Unlock()
			if err := q.writeOut(buf); err != nil {
				return buf[:0], err
			}
			buf = buf[:0]
		}
		if done {
			return buf, nil
		}
	}
}

func (q *outQueue) writeOut(b []byte) error {
	if q.sink != nil {
		return q.writeOutTLS(b)
	}
	n, err := q.nc.Write(b)
	q.count(b, n, err)
	return err
}

// writeOutTLS gives tls.Conn at most coalesceLimit bytes at a time and
// flushes what the sink stashed before the next piece, so the stash holds
// one piece at most.
func (q *outQueue) writeOutTLS(b []byte) error {
	for len(b) > 0 {
		piece := b[:min(len(b), coalesceLimit)]
		n, err := q.nc.Write(piece)
		q.count(piece, n, err)
		if err == nil {
			err = q.sink.flush()
		}
		if err != nil {
			return err
		}
		b = b[len(piece):]
	}
	return nil
}

// count adds a write of n bytes of b to the stats and the trace.
func (q *outQueue) count(b []byte, n int, err error) {
	q.srv.stats.BytesOut.Add(int64(n))
	q.srv.stats.Writes.Add(1)
	if q.trace != nil {
		q.trace.Write(b, n, err)
	}
}
