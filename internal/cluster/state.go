package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"pynet/internal/replog"
)

// Since returns the message entries (rooms and privates) stored at or
// after t with Seq <= upto, oldest first. It returns at most MaxSince
// entries, the oldest ones, and logs a warning when there were more.
func (l *Log) Since(t time.Time, upto uint64) ([]replog.Entry, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := l.barrier(ctx, upto); err != nil {
		return nil, err
	}
	var all []rawMsg
	for _, filter := range replog.MessageFilters(l.o.Prefix) {
		start := t
		msgs, err := l.readRange(ctx, filter, 1, &start, upto, MaxSince+1)
		if err != nil {
			return nil, err
		}
		all = append(all, msgs...)
	}
	slices.SortFunc(all, func(a, b rawMsg) int { return cmpSeq(a.Seq, b.Seq) })
	if len(all) > MaxSince {
		l.log.Warn("since: too many entries; returning the oldest", "since", t, "max", MaxSince)
		all = all[:MaxSince]
	}
	out := make([]replog.Entry, len(all))
	for i, r := range all {
		out[i] = replog.Entry{Seq: r.Seq, Subject: r.Subject, Data: r.Data}
	}
	return out, nil
}

func cmpSeq(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// SaveSnapshot stores data as object "state" of PREFIX_SNAP, with seq in
// its metadata, replacing the previous one.
func (l *Log) SaveSnapshot(seq uint64, data []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, err := l.snaps.Put(ctx, jetstream.ObjectMeta{
		Name:     snapObject,
		Metadata: map[string]string{snapSeqKey: strconv.FormatUint(seq, 10)},
	}, bytes.NewReader(data))
	if err != nil {
		return unavailable("save snapshot", err)
	}
	return nil
}

// LoadSnapshot returns the newest snapshot, or 0 and no data if there is
// none.
func (l *Log) LoadSnapshot() (uint64, []byte, error) {
	var lastErr error
	// A snapshot being replaced while it is read can fail to read (its
	// chunks are purged): read again. A store whose group is still settling
	// (a leader just elected, on a loaded machine) answers "no responders"
	// for a moment: wait a little longer each time, 3 s in all at most.
	wait := 50 * time.Millisecond
	for attempt := 0; attempt < 7; attempt++ {
		seq, data, err := l.loadSnapshot()
		if err == nil || errors.Is(err, errNotFound) {
			return seq, data, nil
		}
		lastErr = err
		if transientAPIError(err) {
			if !l.waitRetry(context.Background(), wait) {
				return 0, nil, unavailable("load snapshot", lastErr)
			}
			wait *= 2
		}
	}
	return 0, nil, unavailable("load snapshot", lastErr)
}

// waitRetry waits d before a request that failed for a transient reason is
// made again. It reports false if the log closes or ctx ends first.
func (l *Log) waitRetry(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-l.closed:
		return false
	case <-ctx.Done():
		return false
	}
}

func (l *Log) loadSnapshot() (uint64, []byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := l.snaps.Get(ctx, snapObject)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return 0, nil, errNotFound
	}
	if err != nil {
		return 0, nil, err
	}
	defer res.Close()
	info, err := res.Info()
	if err != nil {
		return 0, nil, err
	}
	seq, err := strconv.ParseUint(info.Metadata[snapSeqKey], 10, 64)
	if err != nil {
		return 0, nil, fmt.Errorf("snapshot without a sequence: %v", err)
	}
	data, err := io.ReadAll(res)
	if err != nil {
		return 0, nil, err
	}
	return seq, data, nil
}

// Trim removes the control commands with Seq < seq. It first raises the
// trim floor (PREFIX_META "trim") that followers check when they find
// entries removed under them, then purges.
func (l *Log) Trim(seq uint64) error {
	if seq <= 1 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*apiTimeout)
	defer cancel()
	if err := l.raiseTrimFloor(ctx, seq); err != nil {
		return unavailable("trim", err)
	}
	err := l.stream.Purge(ctx, jetstream.WithPurgeSubject(replog.ControlSubject(l.o.Prefix)), jetstream.WithPurgeSequence(seq))
	if err != nil {
		return unavailable("trim", err)
	}
	return nil
}

func (l *Log) raiseTrimFloor(ctx context.Context, seq uint64) error {
	val := []byte(strconv.FormatUint(seq, 10))
	for attempt := 0; attempt < 10; attempt++ {
		e, err := l.meta.Get(ctx, trimKey)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			_, err = l.meta.Create(ctx, trimKey, val)
		case err != nil:
			return err
		default:
			cur, perr := strconv.ParseUint(string(e.Value()), 10, 64)
			if perr == nil && cur >= seq {
				return nil
			}
			_, err = l.meta.Update(ctx, trimKey, val, e.Revision())
		}
		if err == nil {
			return nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return err
		}
		// Someone else changed it in between: read again.
	}
	return errors.New("the trim floor keeps changing")
}

// Beat records this node as alive for the lease time.
func (l *Log) Beat() error {
	ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
	defer cancel()
	// Just after a NATS server went, the bucket's stream may answer "no
	// response" for a moment while its group settles: beat again, a little
	// later each time, within apiTimeout (a beat is a plain put: repeating
	// it is harmless).
	for wait := 50 * time.Millisecond; ; wait *= 2 {
		_, err := l.nodes.Put(ctx, l.o.Node, []byte(time.Now().UTC().Format(time.RFC3339Nano)))
		if err == nil {
			return nil
		}
		if !transientAPIError(err) || !l.waitRetry(ctx, wait) {
			return unavailable("beat", err)
		}
	}
}

// Nodes lists the nodes whose last Beat is younger than the lease, sorted.
// It reads the last entry of every key in one direct request (no consumer,
// no watch).
func (l *Log) Nodes() ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
	defer cancel()
	bucket := l.nodes.Bucket()
	pfx := "$KV." + bucket + "."
	var nodes []string
	_, _, err := l.direct(ctx, "KV_"+bucket, directReq{MultiLast: []string{pfx + ">"}}, func(r *rawMsg) {
		if r.Op == "DEL" || r.Op == "PURGE" || len(r.Subject) <= len(pfx) {
			return
		}
		nodes = append(nodes, r.Subject[len(pfx):])
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(nodes)
	return nodes, nil
}
