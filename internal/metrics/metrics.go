// Package metrics serves a PyNet server's operations endpoints over HTTP:
//
//	/metrics       Prometheus text exposition (format 0.0.4), written by hand
//	/debug/vars    expvar JSON: cmdline, memstats and "pynet", the server's counters
//	/debug/pprof/  runtime profiles (net/http/pprof)
//
// Everything is read from server.Stats, whose counters are atomics the server
// updates as it goes (once per broadcast on the fanout path, not once per
// recipient), so a scrape takes no server lock and costs the chat nothing.
//
// The endpoints live on a ServeMux of their own, served on a listener of
// their own (-metrics ADDR), never on the chat port. Importing expvar and
// net/http/pprof also registers their handlers on http.DefaultServeMux (their
// init functions do that); this package never serves DefaultServeMux, so
// those registrations stay unreachable.
//
// pprof can reveal a lot about the process and can make it busy: bind the
// metrics address to localhost or a private network.
package metrics

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"expvar"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"strconv"
	"strings"
	"time"

	"pynet/internal/server"
)

// processStart is reported as process_start_time_seconds.
var processStart = time.Now()

// Options says what the operations endpoints expose beyond /metrics.
type Options struct {
	// Pprof serves /debug/pprof/ (pynet server -pprof): profiles reveal a
	// lot and can keep the process busy, so they are off unless asked for.
	Pprof bool
	// Public allows listening on an address other hosts can reach
	// (pynet server -metrics-public); without it Start refuses one.
	Public bool
}

// Handler returns the operations endpoints for srv on a new ServeMux.
func Handler(srv *server.Server, opts ...Options) http.Handler {
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	cfg := srv.Config()
	st := srv.Stats()
	v := Var(srv.Stats())
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, "PyNet Chat operations endpoints:\n  /metrics       Prometheus metrics\n  /debug/vars    expvar JSON\n")
		if o.Pprof {
			fmt.Fprint(w, "  /debug/pprof/  profiles\n")
		}
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		var buf bytes.Buffer
		WritePrometheus(&buf, st, cfg)
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
		w.Write(buf.Bytes())
	})
	mux.HandleFunc("GET /debug/vars", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		writeVars(w, v)
	})
	if !o.Pprof {
		return mux
	}
	// pprof.Index finds the profile name after "/debug/pprof/", so the
	// handlers must sit at exactly these paths.
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// Server is a running metrics HTTP server.
type Server struct {
	hs   *http.Server
	ln   net.Listener
	done chan struct{}
}

// Start listens on addr and serves Handler(srv) there until Close. It logs
// "metrics on http://HOST:PORT/metrics" once it accepts connections.
// An address other hosts can reach is refused unless opts says Public.
func Start(addr string, srv *server.Server, log *slog.Logger, opts ...Options) (*Server, error) {
	if log == nil {
		log = slog.Default()
	}
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	if ta, ok := ln.Addr().(*net.TCPAddr); ok && !ta.IP.IsLoopback() && !o.Public {
		ln.Close()
		return nil, fmt.Errorf("metrics: %s is reachable from other hosts; bind a loopback address or add -metrics-public", addr)
	}
	m := &Server{
		hs: &http.Server{
			Handler:           Handler(srv, o),
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    16 << 10,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
			// No WriteTimeout: /debug/pprof/profile streams for ?seconds=N.
		},
		ln:   ln,
		done: make(chan struct{}),
	}
	// Like "listening on", logged at the lowest level the logger shows:
	// scripts wait for it to learn the port.
	level := slog.LevelInfo
	for !log.Enabled(context.Background(), level) && level < slog.LevelError {
		level += 4
	}
	log.Log(context.Background(), level, "metrics on "+m.URL())
	if ta, ok := ln.Addr().(*net.TCPAddr); ok && !ta.IP.IsLoopback() {
		log.Warn("the metrics address is reachable from other hosts (-metrics-public); /debug/vars shows the process's internals", "addr", ln.Addr().String(), "pprof", o.Pprof)
	}
	go func() {
		defer close(m.done)
		if err := m.hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server stopped", "err", err)
		}
	}()
	return m, nil
}

// Addr is the address the metrics server listens on.
func (m *Server) Addr() net.Addr { return m.ln.Addr() }

// URL is the address of the /metrics page, e.g. "http://127.0.0.1:9090/metrics".
func (m *Server) URL() string { return "http://" + m.ln.Addr().String() + "/metrics" }

// closeGrace is how long Close lets requests in flight finish.
const closeGrace = time.Second

// Close stops the metrics server: it stops accepting at once, lets requests
// in flight finish for up to a second, then cuts the rest off. It returns
// when the server's goroutine has ended.
func (m *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), closeGrace)
	defer cancel()
	err := m.hs.Shutdown(ctx)
	if err != nil {
		err = m.hs.Close()
	}
	<-m.done
	return err
}

// A family is one metric: its name, type and help text.
type family struct {
	name, typ, help string
}

// promWriter appends the text exposition format to a buffer.
type promWriter struct {
	b *bytes.Buffer
}

func (p promWriter) header(f family) {
	p.b.WriteString("# HELP ")
	p.b.WriteString(f.name)
	p.b.WriteByte(' ')
	p.b.WriteString(escapeHelp(f.help))
	p.b.WriteString("\n# TYPE ")
	p.b.WriteString(f.name)
	p.b.WriteByte(' ')
	p.b.WriteString(f.typ)
	p.b.WriteByte('\n')
}

// one writes a family with a single unlabelled sample.
func (p promWriter) one(f family, v int64) {
	p.header(f)
	p.b.WriteString(f.name)
	p.b.WriteByte(' ')
	p.b.WriteString(strconv.FormatInt(v, 10))
	p.b.WriteByte('\n')
}

// vec writes a family with one sample per counter of v, labelled label.
func (p promWriter) vec(f family, label string, v *server.CounterVec) {
	p.header(f)
	v.Each(func(name string, n int64) {
		p.sample(f.name, n, label, name)
	})
}

// sample writes one line; labels are name, value pairs.
func (p promWriter) sample(name string, v int64, labels ...string) {
	p.b.WriteString(name)
	if len(labels) > 0 {
		p.b.WriteByte('{')
		for i := 0; i+1 < len(labels); i += 2 {
			if i > 0 {
				p.b.WriteByte(',')
			}
			p.b.WriteString(labels[i])
			p.b.WriteString(`="`)
			p.b.WriteString(escapeLabel(labels[i+1]))
			p.b.WriteByte('"')
		}
		p.b.WriteByte('}')
	}
	p.b.WriteByte(' ')
	p.b.WriteString(strconv.FormatInt(v, 10))
	p.b.WriteByte('\n')
}

var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

func escapeHelp(s string) string  { return helpEscaper.Replace(s) }
func escapeLabel(s string) string { return labelEscaper.Replace(s) }

// WritePrometheus writes st (and the limits of cfg) in the Prometheus text
// exposition format, version 0.0.4: every family has HELP and TYPE lines,
// counters end in _total, and labelled families list every label value,
// zeros included, so that series do not appear out of nowhere.
func WritePrometheus(b *bytes.Buffer, st *server.Stats, cfg server.Config) {
	p := promWriter{b}
	p.one(family{"pynet_connections_open", "gauge", "Connections open now, joined or not."}, st.ConnsCurrent.Load())
	p.one(family{"pynet_connections_accepted_total", "counter", "Connections accepted, including those refused with server_full."}, st.ConnsAccepted.Load())
	p.one(family{"pynet_users_joined", "gauge", "Users joined now."}, st.Joined.Load())
	p.vec(family{"pynet_frames_received_total", "counter", `Frames received from clients, by type ("invalid": lines that did not decode or were too large; rate-limited lines are not counted here).`}, "type", &st.FramesIn)
	p.vec(family{"pynet_frames_sent_total", "counter", "Frames queued to clients, by type."}, "type", &st.FramesOut)
	p.one(family{"pynet_received_bytes_total", "counter", "Bytes read from client connections (after TLS decryption)."}, st.BytesIn.Load())
	p.one(family{"pynet_sent_bytes_total", "counter", "Bytes written to client connections (before TLS encryption)."}, st.BytesOut.Load())
	p.one(family{"pynet_writes_total", "counter", "Writes to client sockets; frames sent divided by this is how many frames one write carries."}, st.Writes.Load())
	p.one(family{"pynet_messages_broadcast_total", "counter", "Public messages accepted and broadcast."}, st.Broadcasts.Load())
	p.one(family{"pynet_deliveries_total", "counter", "Message frames, public and private, queued to recipients."}, st.Deliveries.Load())
	p.vec(family{"pynet_errors_total", "counter", "Error frames sent, by code."}, "code", &st.Errors)
	p.vec(family{"pynet_disconnects_total", "counter", "Connections closed, by reason (server_full: refused at accept)."}, "reason", &st.Closed)
	p.one(family{"pynet_rate_limited_total", "counter", "Lines refused by the rate limit."}, st.RateLimited.Load())
	p.one(family{"pynet_store_commits_total", "counter", "Store transactions that carried messages (-data); messages committed divided by this is the group-commit batch size."}, st.Commits.Load())
	p.one(family{"pynet_store_messages_committed_total", "counter", "Messages committed to the store (-data) before anyone saw them."}, st.Committed.Load())
	p.one(family{"pynet_outbound_queue_max_bytes", "gauge", "Largest outbound queue of one connection seen since start, in bytes."}, st.MaxQueueSeen.Load())
	p.one(family{"pynet_outbound_queue_limit_bytes", "gauge", "Outbound queue limit per connection (-max-queue), in bytes."}, int64(cfg.MaxQueue))
	p.one(family{"pynet_max_clients", "gauge", "Most connections allowed at once (-max-clients)."}, int64(cfg.MaxClients))
	p.header(family{"pynet_build_info", "gauge", "Always 1; the labels say which build is running."})
	p.sample("pynet_build_info", 1, "version", cfg.Version, "goversion", runtime.Version())
	p.one(family{"go_goroutines", "gauge", "Number of goroutines that currently exist."}, int64(runtime.NumGoroutine()))
	p.one(family{"process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds."}, processStart.Unix())
}

// Var returns the counters of st as an expvar.Var (a JSON object, computed
// when read). It is not published in expvar's global registry: the
// /debug/vars page of Handler shows it as "pynet", and a program with one
// server may Publish it itself.
func Var(st *server.Stats) expvar.Var {
	return expvar.Func(func() any { return snapshot(st) })
}

func snapshot(st *server.Stats) map[string]any {
	vec := func(v *server.CounterVec) map[string]int64 {
		m := make(map[string]int64)
		v.Each(func(name string, n int64) { m[name] = n })
		return m
	}
	return map[string]any{
		"connections_open":     st.ConnsCurrent.Load(),
		"connections_accepted": st.ConnsAccepted.Load(),
		"users_joined":         st.Joined.Load(),
		"frames_received":      vec(&st.FramesIn),
		"frames_sent":          vec(&st.FramesOut),
		"received_bytes":       st.BytesIn.Load(),
		"sent_bytes":           st.BytesOut.Load(),
		"writes":               st.Writes.Load(),
		"messages_broadcast":   st.Broadcasts.Load(),
		"deliveries":           st.Deliveries.Load(),
		"errors":               vec(&st.Errors),
		"disconnects":          vec(&st.Closed),
		"rate_limited":         st.RateLimited.Load(),
		"outbound_queue_max":   st.MaxQueueSeen.Load(),
		"store_commits":        st.Commits.Load(),
		"store_committed":      st.Committed.Load(),
	}
}

// writeVars writes what expvar's own handler writes (every published
// variable) plus pynet, as one JSON object.
func writeVars(w http.ResponseWriter, pynet expvar.Var) {
	var b bytes.Buffer
	b.WriteString("{\n")
	expvar.Do(func(kv expvar.KeyValue) {
		if kv.Key == "pynet" {
			return // ours wins
		}
		key, _ := json.Marshal(kv.Key)
		b.Write(key)
		b.WriteString(": ")
		b.WriteString(kv.Value.String())
		b.WriteString(",\n")
	})
	b.WriteString(`"pynet": `)
	b.WriteString(pynet.String())
	b.WriteString("\n}\n")
	w.Write(b.Bytes())
}
