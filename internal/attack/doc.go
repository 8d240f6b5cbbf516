// Package attack is the reproducible attack harness behind `pynet attack`
// and docs/security.md: it plays a hostile crowd against a PyNet server on
// this machine and measures what a well-behaved pair of users sees
// meanwhile.
//
// # What it does
//
// Attackers spread their connections over the source addresses 127.0.0.2,
// 127.0.0.3, … 127.0.0.(Sources+1) (a net.Dialer with LocalAddr), so the
// server's per-address limits (max_per_ip, the join throttle) apply as they
// would to a small botnet on a network. Every attacker stays within the
// server's default frame rate (20 frames/s). The well-behaved pair joins
// from 127.0.0.201 and 127.0.0.202, outside the attackers' range, as
// version 1 clients (the lobby; comparable with servers that predate
// version 2), sends Config.UserRate messages per second each way for the
// whole attack phase, and opens a fresh connection that joins (and leaves)
// every Config.FreshEvery, alternating between its two addresses.
//
// Scenarios (Config.Scenario), with the sizes of issue 9 as defaults:
//
//   - joinstorm: Joins connections join, InFlight at a time, and stay
//     (reading everything they get) until the storm is over.
//   - rename: Renamers joined connections each send `nick` NickRate times
//     a second for Duration.
//   - churn: RoomSize idle members fill the lobby; Workers loop
//     connect → join → leave for Duration; a refused join is retried after
//     its retry_after_ms.
//   - slowloris: Conns connections each send a partial line of Partial
//     bytes (no LF) and then one more byte every Drip, for Duration.
//   - history-bomb: Bombs messages whose text is 4,096 '"' (each escaped as
//     \" in every frame that carries it: the largest message frame the
//     server's encoder makes) fill the lobby's history; then NonReaders
//     connections join with a tiny receive buffer and never read.
//   - one-address: Conns connections from 127.0.0.2 alone, InFlight at a
//     time; those let in join and stay.
//
// Everything is bounded: every scenario has a set number of connections and
// ends by itself (at Duration, or when its attempts are done); dials,
// writes and waits have deadlines; the harness only ever dials loopback
// addresses. The report (Report) gives what the pair saw (message latency
// from the scheduled send time to receipt, p50/p99/max; messages lost;
// fresh joins and their latency), what the attackers got (connections
// tried, accepted, refused by reason), and, given the server's process id,
// its peak RSS, its CPU seconds and the machine's peak kernel TCP memory.
package attack
