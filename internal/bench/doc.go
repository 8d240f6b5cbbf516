// Package bench is the load generator behind `pynet bench`: it speaks the
// PyNet protocol (PROTOCOL.md) to a running server, or to the nodes of a
// cluster, and measures delivery throughput, latency and connection
// set-up. Run is the whole of it; the command only parses flags and prints
// the Result.
//
// # What a run does
//
//  1. Set-up. Clients connections dial and join, Parallel at a time, as
//     NAME-0001, NAME-0002, ... (if a name is taken, NAME-RRRR-0001 with the
//     run id), each to its address of Addr (see "A cluster"), over TLS when
//     Config.TLS is set (a full handshake each: no session resumption). The
//     set-up rate is the number joined divided by the time from
//     the first dial to the last join completed: its welcome (version 1), or
//     the last frame of the replays that follow it (version 2). Each
//     connection's reader starts as soon as it has joined, so the joined
//     notices of later joins are read.
//  2. Traffic. The first Senders connections send public messages of Size
//     bytes of text; every connection, senders included, receives and counts
//     them. A sender does not receive its own messages, so without rooms
//     each message is expected Connected−1 times. Warmup comes first and is
//     not measured; then the measured window of Duration.
//  3. Drain. Sending stops at the end of the window; the run waits (at most
//     Drain) until every message sent has reached every receiver, or, once
//     a connection has dropped, until deliveries stop coming. If the server
//     closes every connection, the window ends there and then.
//  4. Teardown. Every connection is closed (no leave: the server reports
//     left disconnect to whoever is still there).
//
// # Version 2 and rooms
//
// Protocol selects the join: 1 (the default; no protocol member, the
// lobby only, as before version 2, so that runs against older servers stay
// comparable) or 2. A version 2 join names its rooms; the bench then reads,
// before it counts any traffic, what PROTOCOL §4 says follows the welcome:
// for each room in the join's order its entered frame and as many replayed
// messages as entered's replay says, then as many replayed privates as the
// welcome's privates says. Anything else is a failed join.
//
// Rooms (version 2) gives every client the lobby and one room more: client
// i is in NAME-r001 ... NAME-rNNN number i mod Rooms + 1, so the first
// Senders clients are spread over the rooms. A sender sends to its room,
// and with LobbyEvery every LobbyEvery-th message (by sequence number) to
// the lobby. A receiver expects every message of its room from the other
// members, and only the lobby ones of everybody else. The expected
// deliveries add up, over the messages sent, the connected members of the
// room each went to, minus the sender. The room workload is
// -clients 1000 -senders 100 -protocol 2 -rooms 100: rooms of 10, one
// sender in each.
//
// Flat out, a version 2 sender gives every message its own ref (its
// sequence number in hex): version 2 sessions de-duplicate refs (PROTOCOL
// §5.3), and one ref for all would be acked but never delivered again.
//
// # A cluster
//
// Addr (`-addr`, or `-target pynet://A,B,C`) may list several addresses,
// separated by commas: the nodes of a cluster, which share one chat. The
// clients are spread over them by nodeOf: client i (from 0) dials address
// i mod N of N, so the clients, and the senders (the first Senders
// clients), are spread evenly. With rooms, i mod N would put each room on
// N/g of the nodes if Rooms and N have a common factor g (2 nodes, 100
// rooms: every room on one node, so no room message would cross nodes);
// then the assignment moves on by one node every lcm(Rooms, N) clients,
// (i + i/lcm) mod N. Either way every node's clients, every node's
// senders and every room's members on every node differ by one at most,
// and a room of m members is on min(m, N) nodes. One address is the
// single-server run, unchanged.
//
// Nothing else changes: a receiver expects every message as on one server,
// whichever node its sender is on, and checks order, gaps, rooms and ids
// as always; in a cluster the ids are the replicated log's sequence, so
// they rise strictly on every connection too (PROTOCOL §5.3). Independent
// servers are not a cluster: their clients do not see each other, and the
// deliveries they miss show as lost. The Result lists the addresses (Addr,
// separated by commas) and, for several, each node's clients, senders,
// joined clients and deliveries of measured messages (Nodes).
//
// ServerPIDs (`-server-pid 101,102,103,100`) lists every process that
// serves the run, for a cluster each pynet node and the NATS server: the
// server CPU reported is the sum of their CPU times, per delivery too, and
// the idle RSS the sum of their resident memory.
//
// # Two ways to send
//
// Open loop (Rate > 0): message n of the run is scheduled at start + n/Rate,
// the senders taking turns, and stamped with that scheduled time. A sender
// sleeps until its next message is due, then writes every message due by now
// in one write. A stall anywhere, in the server or in the generator, delays
// messages past their schedule and shows up as latency instead of quietly
// lowering the rate (no "coordinated omission"). Messages of the window that
// were never sent by its end are reported as unsent.
//
// Flat out (Rate == 0): each message carries a ref, the server acks it, and a
// sender keeps at most Window messages unacked, filling the window in one
// write whenever acks come back. Acks alone do not bound the server's
// outbound queues (it acks once a message is queued to everyone, not once
// written), so a run-wide gate also holds senders back while the average
// receiver is more than min(Window×Senders, 256 KiB of frames) messages
// behind. Latency is measured from the moment of the write. Deliveries per
// second is the number to read in this mode.
//
// # Measuring without a clock exchange
//
// Senders and receivers are one process and share its monotonic clock. Every
// text starts with a 33-byte marker (marker.go): run id, phase, sender,
// sequence number, scheduled time in ns. A receiver finds it in the raw frame
// with bytes.Index, never decoding the JSON of a message; only rare frames
// (error, bye, or anything not written compactly) go through
// protocol.DecodeServer. Latency = receive time − scheduled time, where the
// receive time is read once per read syscall (up to readBufSize bytes, many
// frames).
//
// Latencies go into a log-linear Histogram per connection (16 KiB, < 1 %
// error, any number of samples), merged at the end. Receivers also check
// that each sender's messages arrive in order, only once and without a gap
// among those they should get (while Clients × Senders sequence numbers
// fit in 16 MiB), that no sender gets its own messages back, and that no
// message of a room the receiver is not in arrives. Every receiver checks
// PROTOCOL §5.3 on all it receives live: message, private and ack frames
// in strictly increasing id order across every room (one id sequence for
// the whole server; replayed frames, history: true, are exempt). It reads
// the id from the raw frame, as it reads the marker.
//
// # Definitions of the Result
//
//   - Sent: messages of the measured window written whole (by scheduled or
//     write time inside the window).
//   - Delivered fraction: deliveries of those messages received by the end
//     of the drain ÷ Expected (Sent × (Connected−1) without rooms). 1 means
//     nothing was lost.
//   - Deliveries per second: deliveries of any message of the run received
//     inside the window ÷ its length.
//   - Errors: error frames by code (rate_limited among them), plus the
//     bench's own counts (dial, join, read, write, out_of_order, gap,
//     wrong_room, id_order, echo, ...; see tally.go). Byes by reason.
//     Disconnects: connections the server closed before teardown. Any of
//     them in a run against a healthy server is a finding.
//   - CPU: the bench's own (getrusage) and, given ServerPIDs, the servers'
//     (utime+stime from /proc/PID/stat, 10 ms resolution, summed over the
//     pids) during the window, also per delivery in the window.
//
// # What the server must allow
//
// Run the server with its rate limit off (`pynet server -rate 0`): with the
// default 20 frames/s per connection a benchmark measures the limiter. The
// bench warns when welcome announces a limit and counts rate_limited errors.
// For flat-out runs with many clients a larger -max-queue (e.g. 8388608)
// keeps receivers that fall behind for a moment from being dropped as slow
// consumers; such drops show as byes slow_consumer and disconnects.
//
// # Other targets: Redis and NATS
//
// Config.Target (`-target`) selects what is driven: pynet://HOST:PORT (the
// default, Addr; pynet://A,B,C for a cluster), or a peer for comparison, at
// one address, redis://HOST:PORT (pub/sub) or
// nats://HOST:PORT (core pub/sub). The drivers (target.go) are small and
// written by hand, standard library only; generator, marker, checks and
// histogram are the same as for PyNet. Every client subscribes to one
// channel (subject) named Name, and the senders publish to it, flat out or
// open loop, with protocol 1 and no rooms.
//
//   - Redis (RESP): a client sends SUBSCRIBE and has joined once the
//     subscription count comes back. A subscribed connection may not
//     publish, so each sender dials a second connection for PUBLISH; its
//     integer reply is the ack of the window. Redis also delivers a
//     sender's messages to the sender's own subscription: those are
//     dropped uncounted (Redis does one delivery per message more than it
//     is credited for, 1 % with 100 clients).
//   - NATS: a client reads INFO, sends CONNECT (verbose false, echo
//     false, so a sender does not get its own messages, as with PyNet),
//     SUB and PING, and has joined at the PONG. It answers the server's
//     PINGs. Flat out, a sender follows each batch with a PING: its PONG
//     acknowledges the batch (the count travels in conn.pings).
//
// Payloads never hold CR or LF, so lineBuf cuts both protocols into lines
// and a message's payload is the line that starts with the marker prefix.
// Peers assign no ids: the id order check of PROTOCOL §5.3 does not apply;
// loss, duplicates, gaps, order and echo are checked as for PyNet.
//
// # Concurrency
//
// One reader goroutine per connection (conn.readLoop) owns its read buffer,
// histogram and counters and publishes totals through atomics once per read;
// one goroutine per sender (sender.runRate or runWindow) builds and writes
// frames. Writes to a socket go through conn.write under conn.wmu (a
// sender's batches and its reader's pongs). Rare events go to a mutex-guarded
// tally. Nothing on the per-delivery path allocates or takes a lock. Run's
// own goroutine sets up, sleeps through the window, drains and tears down;
// every wait in it is bounded by a deadline or ctx.
package bench
