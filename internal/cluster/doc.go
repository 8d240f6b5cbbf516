// Package cluster implements replog.Log on NATS JetStream, so that several
// pynet server nodes serve one chat. cmd/pynet wires it in; the server core
// only knows the replog and store interfaces.
//
// # What lives where
//
//	stream PREFIX_CHAT         subjects PREFIX.>: the log (replog's subject
//	                           layout), file storage, MaxMsgsPerSubject =
//	                           Retain, discard old, 2 min de-duplication
//	                           window, direct gets allowed
//	KV PREFIX_ACCOUNTS         accounts: key hex(folded name), JSON value
//	KV PREFIX_NODES            node leases: key node name, TTL = Lease
//	KV PREFIX_META             "trim": the highest sequence Trim was given
//	object store PREFIX_SNAP   object "state": the newest snapshot, its
//	                           sequence in the metadata key "seq"
//
// The epoch is the stream's creation time (hex nanoseconds): every node
// reads the same, and a stream deleted and created again has a new one.
//
// # Writing
//
// Publish sends asynchronous JetStream publishes on the Log's one
// connection (so one node's entries are stored in call order; nats.go's
// retry on "no responders" is off because a retry would overtake later
// publishes) and one goroutine resolves the acks in order and calls done.
// At most MaxPending publishes wait for an ack; Publish then blocks up to
// 5 s. Nothing is buffered while disconnected (ReconnectBufSize -1): such
// a publish fails at once with replog.ErrUnavailable. An error after the
// entry left (ack timeout of 5 s, connection lost while waiting) does not
// prove it was not stored: retry with the same msgID.
//
// # Reading
//
// Follow uses an ordered consumer (see follower for how it detects entries
// removed before it read them). History reads (Store, Since) use batched
// direct gets: no consumer is created per read; with Replicas > 1 they
// first wait until the answering replica holds the requested position
// (barrier).
//
// # Failures
//
// The client reconnects for ever (Open fails if no server answers within
// ConnectTimeout). While disconnected, publishes and reads fail at once
// with replog.ErrUnavailable; a stream leader election (Replicas > 1) makes
// publishes fail the same way for its duration. Followers recreate their
// consumer on every reconnect and when it stalls, and resume from the next
// entry they need: measured here, up to 2 s after losing the NATS server
// they were connected to or the one holding their consumer.
//
// # Retention
//
// Retain is JetStream's MaxMsgsPerSubject, which applies to every subject
// of the stream: each room, each pair of users, and the control subject
// PREFIX.c. Snapshots with Trim must therefore happen well within Retain
// control commands; a follower that finds control commands pruned under it
// fails rather than skipping them. The stream's metadata remembers the
// smallest limit it ever had (pynet_min_retain) so that RoomStats and
// Privates never under-report pruning after the limit was raised.
//
// # Durability
//
// JetStream acknowledges a publish once the entry is written (not
// fsynced) by a quorum of the stream's replicas; the file store fsyncs
// every sync_interval, 2 minutes by default. With Replicas 1, an operating
// system crash or power loss can lose up to that much acknowledged
// history; with Replicas 3 on separate machines, an acknowledged entry is
// lost only if a majority of them lose power within the interval. See the
// package's report for the recommended server settings.
package cluster
