package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"pynet/internal/replog"
	"pynet/internal/store"
)

// Defaults and bounds.
const (
	DefaultPrefix         = replog.DefaultPrefix
	DefaultLease          = 6 * time.Second
	DefaultConnectTimeout = 10 * time.Second

	// MaxPending is how many publishes may wait for their ack at once;
	// Publish blocks beyond it for at most pendingWait.
	MaxPending = 4096
	// ackTimeout fails a publish whose ack did not come.
	ackTimeout = 5 * time.Second
	// apiTimeout bounds every other request to NATS.
	apiTimeout = 5 * time.Second
	// dupWindow is the stream's de-duplication window (Nats-Msg-Id).
	dupWindow = 2 * time.Minute
	// MaxSince caps what Since returns.
	MaxSince = 1_000_000

	// metaMinRetain is the stream metadata key that remembers the smallest
	// per-subject limit the stream ever had (see RoomStats).
	metaMinRetain = "pynet_min_retain"
	// trimKey is the key of the META bucket that holds the trim floor.
	trimKey = "trim"
	// snapObject is the snapshot's object name; snapSeqKey its metadata
	// key holding the sequence.
	snapObject = "state"
	snapSeqKey = "seq"
)

// pendingWait bounds how long Publish blocks when MaxPending publishes
// wait for their ack (a variable for tests).
var pendingWait = 5 * time.Second

// Options configure Open.
type Options struct {
	// URLs of NATS servers (nats://host:port, tls://…); several may be
	// given, the client picks one and fails over to the others.
	URLs []string
	// Creds is a NATS credentials file (JWT and NKey seed), "" for none.
	Creds string
	// TLSCA is a PEM file of CAs to verify the servers with; TLSCert and
	// TLSKey a client certificate, for servers that require one.
	TLSCA, TLSCert, TLSKey string

	// Node names this node: unique among the live nodes, one KV key token
	// (letters, digits, '-', '_', '=').
	Node string
	// Prefix is the subject prefix (default "pynet"): subjects PREFIX.>,
	// stream PREFIX_CHAT (upper case), buckets PREFIX_ACCOUNTS,
	// PREFIX_NODES, PREFIX_META and object store PREFIX_SNAP.
	Prefix string
	// Replicas is the JetStream replication of the stream, the buckets
	// and the object store (default 1; 3 to survive the loss of one NATS
	// server).
	Replicas int
	// Retain is how many messages are kept per subject (per room, per
	// pair of users, and for the control subject); 0 keeps everything.
	Retain int
	// Lease is how long a node counts as alive after its last Beat
	// (default 6 s).
	Lease time.Duration
	// ConnectTimeout bounds Open's first connection (default 10 s). Once
	// open, the client reconnects forever.
	ConnectTimeout time.Duration

	Logger *slog.Logger
}

var (
	nodeRE   = regexp.MustCompile(`^[A-Za-z0-9_=-]{1,64}$`)
	prefixRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)
)

// Log is the replicated log on NATS JetStream. It implements replog.Log.
type Log struct {
	o      Options
	log    *slog.Logger
	nc     *nats.Conn
	js     jetstream.JetStream
	stream jetstream.Stream

	streamName string
	epoch      string
	created    time.Time
	replicas   int   // the stream's replication when opened
	minRetain  int64 // smallest per-subject limit ever (0: never limited)

	accounts jetstream.KeyValue
	nodes    jetstream.KeyValue
	meta     jetstream.KeyValue
	snaps    jetstream.ObjectStore

	pub publisher

	// fresh is the highest sequence a direct read found the answering
	// replica holding (see barrier).
	fresh atomic.Uint64

	closing   atomic.Bool
	closed    chan struct{}
	closeOnce sync.Once
	followMu  sync.Mutex
	followers map[*follower]struct{}

	st *logStore
}

var _ replog.Log = (*Log)(nil)

// Open connects to NATS and makes sure the stream, the buckets and the
// object store exist with the options' settings.
func Open(ctx context.Context, o Options) (*Log, error) {
	if len(o.URLs) == 0 {
		return nil, errors.New("cluster: no NATS URL")
	}
	if !nodeRE.MatchString(o.Node) {
		return nil, fmt.Errorf("cluster: node name %q: use 1 to 64 letters, digits, '-', '_' or '='", o.Node)
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if !prefixRE.MatchString(o.Prefix) {
		return nil, fmt.Errorf("cluster: prefix %q: use 1 to 32 letters, digits, '-' or '_'", o.Prefix)
	}
	if o.Replicas == 0 {
		o.Replicas = 1
	}
	if o.Replicas < 1 || o.Replicas > 5 {
		return nil, fmt.Errorf("cluster: replicas %d: JetStream allows 1 to 5", o.Replicas)
	}
	if o.Retain < 0 {
		return nil, fmt.Errorf("cluster: retain %d: must be 0 (keep everything) or more", o.Retain)
	}
	if o.Lease == 0 {
		o.Lease = DefaultLease
	}
	if o.Lease < 100*time.Millisecond {
		return nil, fmt.Errorf("cluster: lease %v is too short", o.Lease)
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return nil, errors.New("cluster: a TLS client certificate needs both its certificate and its key")
	}
	lg := o.Logger
	if lg == nil {
		lg = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	l := &Log{
		o:          o,
		log:        lg.With("component", "cluster"),
		streamName: strings.ToUpper(o.Prefix) + "_CHAT",
		closed:     make(chan struct{}),
		followers:  make(map[*follower]struct{}),
	}
	if err := l.connect(ctx); err != nil {
		return nil, err
	}
	for {
		err := l.setup(ctx)
		if err == nil {
			break
		}
		if !transientAPIError(err) || ctx.Err() != nil {
			l.nc.Close()
			return nil, err
		}
		l.log.Warn("cluster: JetStream not ready yet; trying again", "err", err)
		select {
		case <-time.After(250 * time.Millisecond):
		case <-ctx.Done():
			l.nc.Close()
			return nil, err
		}
	}
	l.pub.start(l)
	l.st = &logStore{l: l}
	return l, nil
}

// redacted lists the URLs without any user information, for messages.
func redacted(urls []string) string {
	out := make([]string, len(urls))
	for i, s := range urls {
		u, err := url.Parse(s)
		if err != nil || u.User == nil {
			out[i] = s
			if err != nil && strings.Contains(s, "@") {
				out[i] = "(unparsable URL)"
			}
			continue
		}
		u.User = nil
		out[i] = u.String()
	}
	return strings.Join(out, ", ")
}

func (l *Log) connect(ctx context.Context) error {
	o := l.o
	opts := []nats.Option{
		nats.Name("pynet " + o.Node),
		nats.MaxReconnects(-1),
		nats.RetryOnFailedConnect(true),
		nats.ReconnectWait(500 * time.Millisecond),
		// Never queue publishes while disconnected: a publish fails at
		// once and the caller refuses the request.
		nats.ReconnectBufSize(-1),
		nats.PingInterval(5 * time.Second),
		nats.MaxPingsOutstanding(3),
		nats.Timeout(min(o.ConnectTimeout, 5*time.Second)),
		nats.ConnectHandler(func(nc *nats.Conn) {
			l.log.Info("nats connected", "url", nc.ConnectedUrlRedacted(), "server", nc.ConnectedServerName())
		}),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			if l.closing.Load() {
				return
			}
			l.log.Warn("nats disconnected", "err", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			// Reads may now come from another replica: check it again.
			l.fresh.Store(0)
			l.log.Info("nats reconnected", "url", nc.ConnectedUrlRedacted(), "server", nc.ConnectedServerName())
		}),
		nats.ClosedHandler(func(nc *nats.Conn) {
			l.log.Info("nats connection closed")
		}),
		nats.ErrorHandler(func(nc *nats.Conn, sub *nats.Subscription, err error) {
			l.log.Warn("nats error", "err", err)
		}),
	}
	if o.Creds != "" {
		opts = append(opts, nats.UserCredentials(o.Creds))
	}
	if o.TLSCA != "" {
		opts = append(opts, nats.RootCAs(o.TLSCA))
	}
	if o.TLSCert != "" {
		opts = append(opts, nats.ClientCert(o.TLSCert, o.TLSKey))
	}
	nc, err := nats.Connect(strings.Join(o.URLs, ","), opts...)
	if err != nil {
		return fmt.Errorf("cluster: NATS at %s: %w", redacted(o.URLs), err)
	}
	status := nc.StatusChanged(nats.CONNECTED, nats.CLOSED)
	defer nc.RemoveStatusListener(status)
	if !nc.IsConnected() {
		timer := time.NewTimer(o.ConnectTimeout)
		defer timer.Stop()
	wait:
		for !nc.IsConnected() {
			select {
			case s := <-status:
				if s == nats.CONNECTED {
					break wait
				}
				err := nc.LastError()
				nc.Close()
				return fmt.Errorf("cluster: NATS at %s: connection closed: %v", redacted(o.URLs), err)
			case <-timer.C:
				err := nc.LastError()
				nc.Close()
				if err != nil {
					return fmt.Errorf("cluster: cannot reach NATS at %s within %v: %v", redacted(o.URLs), o.ConnectTimeout, err)
				}
				return fmt.Errorf("cluster: cannot reach NATS at %s within %v", redacted(o.URLs), o.ConnectTimeout)
			case <-ctx.Done():
				nc.Close()
				return fmt.Errorf("cluster: NATS at %s: %w", redacted(o.URLs), ctx.Err())
			}
		}
	}
	l.nc = nc
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncMaxPending(2*MaxPending),
		jetstream.WithPublishAsyncTimeout(ackTimeout),
		jetstream.WithDefaultTimeout(apiTimeout))
	if err != nil {
		nc.Close()
		return fmt.Errorf("cluster: %w", err)
	}
	l.js = js
	return nil
}

func (l *Log) subjects() []string { return []string{l.o.Prefix + ".>"} }

func (l *Log) streamConfig() jetstream.StreamConfig {
	perSubject := int64(-1)
	if l.o.Retain > 0 {
		perSubject = int64(l.o.Retain)
	}
	return jetstream.StreamConfig{
		Name:              l.streamName,
		Description:       "pynet chat log (package cluster)",
		Subjects:          l.subjects(),
		Retention:         jetstream.LimitsPolicy,
		MaxConsumers:      -1,
		MaxMsgs:           -1,
		MaxBytes:          -1,
		MaxAge:            0,
		MaxMsgsPerSubject: perSubject,
		Discard:           jetstream.DiscardOld,
		Storage:           jetstream.FileStorage,
		Replicas:          l.o.Replicas,
		Duplicates:        dupWindow,
		AllowDirect:       true,
	}
}

// setup creates or checks the stream, then the buckets and object store.
func (l *Log) setup(ctx context.Context) error {
	want := l.streamConfig()
	var info *jetstream.StreamInfo
	for attempt := 0; ; attempt++ {
		// Each request gets its own time (retryAPI): one lost in a leader
		// change must not use up all of Open's.
		var s jetstream.Stream
		err := retryAPI(ctx, func(ctx context.Context) (err error) {
			s, err = l.js.Stream(ctx, l.streamName)
			return err
		})
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			if want.MaxMsgsPerSubject > 0 {
				want.Metadata = map[string]string{metaMinRetain: strconv.FormatInt(want.MaxMsgsPerSubject, 10)}
			}
			err = retryAPI(ctx, func(ctx context.Context) (err error) {
				s, err = l.js.CreateStream(ctx, want)
				return err
			})
			if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) && attempt < 3 {
				continue // another node created it first
			}
			if err != nil {
				return fmt.Errorf("cluster: create stream %s: %w", l.streamName, err)
			}
			info = s.CachedInfo()
			l.log.Info("stream created", "stream", l.streamName, "replicas", want.Replicas, "retain", l.o.Retain)
		} else if err != nil {
			return fmt.Errorf("cluster: stream %s: %w", l.streamName, err)
		} else {
			info, err = l.reconcile(ctx, s.CachedInfo())
			if err != nil {
				return err
			}
		}
		l.stream = s
		break
	}
	// The handle's cached info decides direct gets; refresh it after an
	// update.
	if err := retryAPI(ctx, func(ctx context.Context) error {
		_, err := l.stream.Info(ctx)
		return err
	}); err != nil {
		return fmt.Errorf("cluster: stream %s: %w", l.streamName, err)
	}
	l.created = info.Created
	l.epoch = strconv.FormatInt(info.Created.UnixNano(), 16)
	l.replicas = info.Config.Replicas
	l.minRetain = minRetainOf(info.Config)

	up := strings.ToUpper(l.o.Prefix)
	kv := func(name, what string, ttl time.Duration, dst *jetstream.KeyValue) error {
		return retryAPI(ctx, func(ctx context.Context) (err error) {
			*dst, err = l.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
				Bucket: up + "_" + name, Description: what, History: 1, TTL: ttl,
				Storage: jetstream.FileStorage, Replicas: l.o.Replicas})
			if err != nil {
				err = fmt.Errorf("cluster: bucket %s_%s: %w", up, name, err)
			}
			return err
		})
	}
	if err := kv("ACCOUNTS", "pynet accounts", 0, &l.accounts); err != nil {
		return err
	}
	if err := kv("NODES", "pynet node leases", l.o.Lease, &l.nodes); err != nil {
		return err
	}
	if err := kv("META", "pynet log bookkeeping (trim floor)", 0, &l.meta); err != nil {
		return err
	}
	if err := retryAPI(ctx, func(ctx context.Context) (err error) {
		l.snaps, err = l.js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
			Bucket: up + "_SNAP", Description: "pynet state snapshots",
			Storage: jetstream.FileStorage, Replicas: l.o.Replicas})
		if err != nil {
			err = fmt.Errorf("cluster: object store %s_SNAP: %w", up, err)
		}
		return err
	}); err != nil {
		return err
	}
	// A new stream or bucket with replicas elects its leader after it is
	// created; until then publishes get no answer. Wait for them.
	for _, name := range []string{l.streamName, "KV_" + up + "_ACCOUNTS", "KV_" + up + "_NODES", "KV_" + up + "_META", "OBJ_" + up + "_SNAP"} {
		if err := l.waitLeader(ctx, name); err != nil {
			return err
		}
	}
	l.log.Info("cluster log open", "stream", l.streamName, "epoch", l.epoch, "last_seq", info.State.LastSeq,
		"replicas", l.replicas, "retain", l.o.Retain, "node", l.o.Node)
	return nil
}

// waitLeader waits until stream has a leader that answers (up to 15 s).
func (l *Log) waitLeader(ctx context.Context, stream string) error {
	deadline := time.Now().Add(15 * time.Second)
	var last error
	for {
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		s, err := l.js.Stream(rctx, stream)
		if err == nil {
			info := s.CachedInfo()
			if info.Cluster == nil || info.Cluster.Leader != "" {
				cancel()
				return nil
			}
			err = errors.New("no leader yet")
		}
		cancel()
		last = err
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("cluster: %s has no leader: %v", stream, last)
		}
		t := time.NewTimer(50 * time.Millisecond)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
}

// minRetainOf reads the smallest per-subject limit the stream ever had.
func minRetainOf(c jetstream.StreamConfig) int64 {
	m := int64(0)
	if v, err := strconv.ParseInt(c.Metadata[metaMinRetain], 10, 64); err == nil && v > 0 {
		m = v
	}
	if c.MaxMsgsPerSubject > 0 && (m == 0 || c.MaxMsgsPerSubject < m) {
		m = c.MaxMsgsPerSubject
	}
	return m
}

// reconcile checks an existing stream and updates what may change.
func (l *Log) reconcile(ctx context.Context, info *jetstream.StreamInfo) (*jetstream.StreamInfo, error) {
	have := info.Config
	want := l.streamConfig()
	var bad []string
	if len(have.Subjects) != 1 || have.Subjects[0] != want.Subjects[0] {
		bad = append(bad, fmt.Sprintf("subjects %v (want %v)", have.Subjects, want.Subjects))
	}
	if have.Storage != jetstream.FileStorage {
		bad = append(bad, "memory storage")
	}
	if have.Retention != jetstream.LimitsPolicy {
		bad = append(bad, "retention "+have.Retention.String())
	}
	if have.MaxMsgs > 0 || have.MaxBytes > 0 || have.MaxAge > 0 {
		bad = append(bad, "a stream-wide limit (max msgs, bytes or age) that would remove control commands")
	}
	if have.Mirror != nil || len(have.Sources) > 0 || have.SubjectTransform != nil {
		bad = append(bad, "a mirror, sources or a subject transform")
	}
	if have.Sealed || have.DenyPurge || have.DenyDelete {
		bad = append(bad, "sealed, deny purge or deny delete")
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("cluster: stream %s exists but is not a pynet log: %s; remove it or choose another -prefix",
			l.streamName, strings.Join(bad, "; "))
	}
	upd := have
	var changes []any
	if have.MaxMsgsPerSubject != want.MaxMsgsPerSubject {
		upd.MaxMsgsPerSubject = want.MaxMsgsPerSubject
		changes = append(changes, "retain_was", have.MaxMsgsPerSubject, "retain", want.MaxMsgsPerSubject)
		if want.MaxMsgsPerSubject > 0 && (have.MaxMsgsPerSubject <= 0 || want.MaxMsgsPerSubject < have.MaxMsgsPerSubject) {
			l.log.Warn("lowering the stream's per-subject limit removes older messages now",
				"stream", l.streamName, "retain_was", have.MaxMsgsPerSubject, "retain", want.MaxMsgsPerSubject)
		}
	}
	if have.Replicas != want.Replicas {
		upd.Replicas = want.Replicas
		changes = append(changes, "replicas_was", have.Replicas, "replicas", want.Replicas)
	}
	if have.Discard != want.Discard || have.Duplicates != want.Duplicates || !have.AllowDirect {
		upd.Discard, upd.Duplicates, upd.AllowDirect = want.Discard, want.Duplicates, true
		changes = append(changes, "settings", "discard old, duplicates 2m, allow direct")
	}
	mr := minRetainOf(have)
	if want.MaxMsgsPerSubject > 0 && (mr == 0 || want.MaxMsgsPerSubject < mr) {
		mr = want.MaxMsgsPerSubject
	}
	if mr > 0 && have.Metadata[metaMinRetain] != strconv.FormatInt(mr, 10) {
		md := make(map[string]string, len(have.Metadata)+1)
		for k, v := range have.Metadata {
			md[k] = v
		}
		md[metaMinRetain] = strconv.FormatInt(mr, 10)
		upd.Metadata = md
		changes = append(changes, "min_retain", mr)
	}
	if len(changes) == 0 {
		return info, nil
	}
	var s jetstream.Stream
	err := retryAPI(ctx, func(ctx context.Context) (err error) {
		s, err = l.js.UpdateStream(ctx, upd)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: update stream %s: %w", l.streamName, err)
	}
	l.log.Info("stream updated", append([]any{"stream", l.streamName}, changes...)...)
	return s.CachedInfo(), nil
}

// Node names this node.
func (l *Log) Node() string { return l.o.Node }

// Epoch is the stream's creation time in nanoseconds, in hex: a stream
// that is deleted and created again has another.
func (l *Log) Epoch() string { return l.epoch }

// Prefix is the subject prefix in use.
func (l *Log) Prefix() string { return l.o.Prefix }

// Lease is how long a node counts as alive after its last Beat: the
// server reports a node down only after its lease has been gone this long.
func (l *Log) Lease() time.Duration { return l.o.Lease }

// LastSeq is the stream's last sequence.
func (l *Log) LastSeq() (uint64, error) {
	info, err := l.streamInfo(context.Background())
	if err != nil {
		return 0, err
	}
	return info.State.LastSeq, nil
}

// streamInfo asks the stream leader, bounded by apiTimeout.
func (l *Log) streamInfo(ctx context.Context, opts ...jetstream.StreamInfoOpt) (*jetstream.StreamInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	info, err := l.stream.Info(ctx, opts...)
	if err != nil {
		return nil, unavailable("stream info", err)
	}
	return info, nil
}

// unavailable wraps err so that it matches replog.ErrUnavailable too.
func unavailable(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %s: %w", replog.ErrUnavailable, what, err)
}

// Store serves history and accounts from JetStream.
func (l *Log) Store() store.Store { return l.st }

// Close stops every Follow, waits (bounded) for pending publishes and
// closes the connection. Publishes after Close fail.
func (l *Log) Close() error {
	l.closeOnce.Do(func() {
		l.closing.Store(true)
		l.pub.close(pendingWait)
		l.followMu.Lock()
		fs := make([]*follower, 0, len(l.followers))
		for f := range l.followers {
			fs = append(fs, f)
		}
		l.followMu.Unlock()
		for _, f := range fs {
			f.stop()
		}
		deadline := time.NewTimer(5 * time.Second)
		defer deadline.Stop()
	wait:
		for _, f := range fs {
			select {
			case <-f.done:
			case <-deadline.C:
				l.log.Warn("a follower did not stop within 5s; closing anyway")
				break wait
			}
		}
		close(l.closed)
		l.nc.Close()
	})
	return nil
}

// apiAttempt bounds one JetStream API request made while opening: a request
// that reaches a server while the cluster's JetStream leaders are still
// settling can go unanswered, and is then made again.
const apiAttempt = 5 * time.Second

// retryAPI runs f (idempotent) until it succeeds with a fresh bound per
// attempt, or ctx ends.
func retryAPI(ctx context.Context, f func(context.Context) error) error {
	for {
		actx, cancel := context.WithTimeout(ctx, apiAttempt)
		err := f(actx)
		cancel()
		if err == nil || ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, jetstream.ErrNoHeartbeat) {
			return err
		}
	}
}

// transientAPIError reports whether a JetStream request failed only because
// the cluster was not ready (a new cluster placing its first streams, a
// leader election): the request is made again, within Open's bound.
func transientAPIError(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode {
		case 10005, 10008, 10023: // no suitable peers, temporarily unavailable, insufficient resources
			return true
		}
		return apiErr.Code == 503
	}
	return errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout)
}
