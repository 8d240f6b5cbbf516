package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
)

// Reads go through JetStream's direct get API ($JS.API.DIRECT.GET.STREAM),
// which the stream (AllowDirect) answers from any of its replicas without a
// consumer: a batch request returns up to `batch` messages of a subject
// filter from a sequence on, each with the count of matching messages
// still after it, then an end-of-batch status. nats.go does not wrap
// batches, so this file speaks the protocol itself.
//
// A replica that is not the leader may be a few milliseconds behind. Reads
// bounded by a position (upto) first make sure the replica that answers
// holds that position (barrier); a node's requests go to the replica on the
// NATS server it is connected to whenever that server holds one.

// directReq is JSApiMsgGetRequest (nats-server jetstream_api.go).
type directReq struct {
	Seq       uint64     `json:"seq,omitempty"`
	LastFor   string     `json:"last_by_subj,omitempty"`
	NextFor   string     `json:"next_by_subj,omitempty"`
	Batch     int        `json:"batch,omitempty"`
	MaxBytes  int        `json:"max_bytes,omitempty"`
	StartTime *time.Time `json:"start_time,omitempty"`
	MultiLast []string   `json:"multi_last,omitempty"`
}

// rawMsg is a stored message as a read returns it.
type rawMsg struct {
	Seq     uint64
	Subject string
	Data    []byte
	Time    time.Time
	Op      string // KV-Operation header (DEL, PURGE) for bucket reads
}

const (
	// batchMax and batchBytes bound one direct batch request; longer
	// reads send several.
	batchMax   = 1024
	batchBytes = 8 << 20
	// barrierWait bounds how long a read waits for a lagging replica.
	barrierWait = 2 * time.Second
)

var errNotFound = errors.New("not found")

// direct sends one direct get to stream and calls each for every message
// of the answer, in order. It returns the count of matching messages after
// the last one returned (for batch requests), and whether any message was
// found.
func (l *Log) direct(ctx context.Context, stream string, req directReq, each func(*rawMsg)) (pending uint64, found bool, err error) {
	body, err := json.Marshal(req)
	if err != nil {
		return 0, false, err
	}
	inbox := l.nc.NewInbox()
	sub, err := l.nc.SubscribeSync(inbox)
	if err != nil {
		return 0, false, unavailable("direct get", err)
	}
	defer sub.Unsubscribe()
	// The server bounds an answer by MaxBytes; let it all wait here.
	_ = sub.SetPendingLimits(-1, -1)
	if err := l.nc.PublishRequest("$JS.API.DIRECT.GET."+stream, inbox, body); err != nil {
		return 0, false, unavailable("direct get", err)
	}
	single := req.Batch == 0 && len(req.MultiLast) == 0
	for {
		m, err := sub.NextMsgWithContext(ctx)
		if err != nil {
			return 0, found, unavailable("direct get", err)
		}
		switch st := m.Header.Get("Status"); st {
		case "":
			r, err := parseDirect(m)
			if err != nil {
				return 0, found, err
			}
			found = true
			if each != nil {
				each(r)
			}
			if single {
				return 0, true, nil
			}
		case "204": // end of batch
			np, _ := strconv.ParseUint(m.Header.Get("Nats-Num-Pending"), 10, 64)
			return np, found, nil
		case "404":
			return 0, found, nil
		case "503":
			return 0, found, unavailable("direct get", nats.ErrNoResponders)
		default:
			return 0, found, unavailable("direct get", fmt.Errorf("status %s %s", st, m.Header.Get("Description")))
		}
	}
}

func parseDirect(m *nats.Msg) (*rawMsg, error) {
	seq, err := strconv.ParseUint(m.Header.Get("Nats-Sequence"), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("cluster: direct get answer without a sequence: %v", err)
	}
	r := &rawMsg{Seq: seq, Subject: m.Header.Get("Nats-Subject"), Data: m.Data, Op: m.Header.Get("KV-Operation")}
	if ts := m.Header.Get("Nats-Time-Stamp"); ts != "" {
		r.Time, _ = time.Parse(time.RFC3339Nano, ts)
	}
	return r, nil
}

// leaderGet asks the stream leader (not a replica) for one message:
// $JS.API.STREAM.MSG.GET. It returns errNotFound when there is none.
func (l *Log) leaderGet(ctx context.Context, stream string, req directReq) (*rawMsg, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	resp, err := l.nc.RequestWithContext(ctx, "$JS.API.STREAM.MSG.GET."+stream, body)
	if err != nil {
		return nil, unavailable("message get", err)
	}
	var r struct {
		Message *struct {
			Subject string    `json:"subject"`
			Seq     uint64    `json:"seq"`
			Data    []byte    `json:"data"`
			Time    time.Time `json:"time"`
		} `json:"message"`
		Error *struct {
			Code        int    `json:"code"`
			ErrCode     int    `json:"err_code"`
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(resp.Data, &r); err != nil {
		return nil, unavailable("message get", err)
	}
	if r.Error != nil {
		if r.Error.ErrCode == 10037 || r.Error.Code == 404 {
			return nil, errNotFound
		}
		return nil, unavailable("message get", fmt.Errorf("%s (%d)", r.Error.Description, r.Error.ErrCode))
	}
	if r.Message == nil {
		return nil, unavailable("message get", errors.New("empty answer"))
	}
	return &rawMsg{Seq: r.Message.Seq, Subject: r.Message.Subject, Data: r.Message.Data, Time: r.Message.Time}, nil
}

// probe counts the messages on filter with seq >= from and returns the
// first one's sequence (0, 0 if none).
func (l *Log) probe(ctx context.Context, filter string, from uint64) (first, count uint64, err error) {
	np, found, err := l.direct(ctx, l.streamName, directReq{Seq: max(from, 1), NextFor: filter, Batch: 1},
		func(r *rawMsg) { first = r.Seq })
	if err != nil || !found {
		return 0, 0, err
	}
	return first, np + 1, nil
}

// readRange returns the messages on filter with from <= seq <= upto
// (from the first at or after start instead, when start is not nil),
// oldest first, at most limit.
func (l *Log) readRange(ctx context.Context, filter string, from uint64, start *time.Time, upto uint64, limit int) ([]rawMsg, error) {
	var out []rawMsg
	seq := max(from, 1)
	for len(out) < limit && seq <= upto {
		req := directReq{NextFor: filter, Batch: min(limit-len(out), batchMax), MaxBytes: batchBytes}
		if start != nil {
			req.StartTime, start = start, nil
		} else {
			req.Seq = seq
		}
		n, beyond := 0, false
		np, found, err := l.direct(ctx, l.streamName, req, func(r *rawMsg) {
			if beyond || r.Seq > upto {
				beyond = true
				return
			}
			out = append(out, *r)
			n++
		})
		if err != nil {
			return nil, err
		}
		if !found || beyond || n == 0 || np == 0 {
			break
		}
		seq = out[len(out)-1].Seq + 1
	}
	return out, nil
}

// barrier makes sure the replica that answers this node's direct gets
// holds every entry up to upto, waiting up to barrierWait for it. With one
// replica there is nothing to wait for.
func (l *Log) barrier(ctx context.Context, upto uint64) error {
	if l.replicas <= 1 || upto == 0 || upto <= l.fresh.Load() {
		return nil
	}
	deadline := time.Now().Add(barrierWait)
	wait := time.Millisecond
	for {
		var got uint64
		_, found, err := l.direct(ctx, l.streamName, directReq{Seq: upto, Batch: 1}, func(r *rawMsg) { got = r.Seq })
		if err != nil {
			return err
		}
		if found && got >= upto {
			for {
				f := l.fresh.Load()
				if got <= f || l.fresh.CompareAndSwap(f, got) {
					break
				}
			}
			return nil
		}
		// Nothing at or after upto here: either the replica is behind, or
		// upto itself was removed and nothing came after it.
		if _, err := l.leaderGet(ctx, l.streamName, directReq{Seq: upto, NextFor: l.o.Prefix + ".>"}); errors.Is(err, errNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return unavailable("read", fmt.Errorf("the stream replica answering reads has not reached %d after %v", upto, barrierWait))
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return unavailable("read", ctx.Err())
		}
		wait = min(2*wait, 100*time.Millisecond)
	}
}
