package metrics

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"pynet/internal/server"
	"pynet/internal/servertest"
)

// wait bounds every wait for a reply in these tests.
const wait = 5 * time.Second

// peer is a raw protocol client on a real socket.
type peer struct {
	t    *testing.T
	name string
	nc   net.Conn
	rd   *bufio.Reader
	sent int // bytes written
}

func dialPeer(t *testing.T, addr, name string) *peer {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, wait)
	if err != nil {
		t.Fatalf("%s: dial: %v", name, err)
	}
	t.Cleanup(func() { nc.Close() })
	return &peer{t: t, name: name, nc: nc, rd: bufio.NewReader(nc)}
}

func (p *peer) send(line string) {
	p.t.Helper()
	p.nc.SetWriteDeadline(time.Now().Add(wait))
	n, err := io.WriteString(p.nc, line+"\n")
	p.sent += n
	if err != nil {
		p.t.Fatalf("%s: write %q: %v", p.name, line, err)
	}
}

// expect reads the next frame and checks its type.
func (p *peer) expect(typ string) map[string]any {
	p.t.Helper()
	p.nc.SetReadDeadline(time.Now().Add(wait))
	line, err := p.rd.ReadBytes('\n')
	if err != nil {
		p.t.Fatalf("%s: waiting for %s: %v (got %q)", p.name, typ, err, line)
	}
	var f map[string]any
	if err := json.Unmarshal(line, &f); err != nil {
		p.t.Fatalf("%s: bad frame %q: %v", p.name, line, err)
	}
	if f["type"] != typ {
		p.t.Fatalf("%s: got %s, want a %s frame", p.name, bytes.TrimSpace(line), typ)
	}
	return f
}

// expectEOF reads until the server closes the connection, then closes
// this end too (so the server need not linger).
func (p *peer) expectEOF() {
	p.t.Helper()
	p.nc.SetReadDeadline(time.Now().Add(wait))
	rest, err := io.ReadAll(p.rd)
	if err != nil || len(rest) > 0 {
		p.t.Fatalf("%s: want EOF, got %q, %v", p.name, rest, err)
	}
	p.nc.Close()
}

func get(t *testing.T, url string) (string, http.Header) {
	t.Helper()
	c := &http.Client{Timeout: wait}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s, %v\n%s", url, resp.Status, err, body)
	}
	return string(body), resp.Header
}

var (
	metricName = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*\})? (\S+)$`)
)

// parseExposition checks the text format strictly enough to catch mistakes
// (every family has HELP then TYPE before its samples, counters end in
// _total, no family twice) and returns the samples by "name{labels}".
func parseExposition(t *testing.T, text string) map[string]float64 {
	t.Helper()
	samples := map[string]float64{}
	seen := map[string]bool{}
	var family, typ, helped string
	if !strings.HasSuffix(text, "\n") {
		t.Errorf("exposition does not end in a newline")
	}
	for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		bad := func(why string) { t.Errorf("line %d %q: %s", i+1, line, why) }
		switch {
		case strings.HasPrefix(line, "# HELP "):
			f := strings.Fields(line)
			if len(f) < 4 || !metricName.MatchString(f[2]) {
				bad("malformed HELP")
				continue
			}
			if seen[f[2]] {
				bad("family described twice")
			}
			seen[f[2]], helped, family, typ = true, f[2], "", ""
		case strings.HasPrefix(line, "# TYPE "):
			f := strings.Fields(line)
			if len(f) != 4 || f[2] != helped {
				bad("TYPE must follow the HELP of the same family")
				continue
			}
			family, typ = f[2], f[3]
			if typ != "counter" && typ != "gauge" {
				bad("unexpected type")
			}
			if (typ == "counter") != strings.HasSuffix(family, "_total") {
				bad("counters, and only counters, end in _total")
			}
			if !strings.HasPrefix(family, "pynet_") && !strings.HasPrefix(family, "go_") && !strings.HasPrefix(family, "process_") {
				bad("not a pynet_ metric")
			}
		case strings.HasPrefix(line, "#") || line == "":
			bad("unexpected comment or blank line")
		default:
			m := sampleLine.FindStringSubmatch(line)
			if m == nil {
				bad("malformed sample")
				continue
			}
			if m[1] != family {
				bad("sample outside its family (want " + family + ")")
			}
			v, err := strconv.ParseFloat(m[3], 64)
			if err != nil {
				bad("value is not a number")
			}
			if typ == "counter" && v < 0 {
				bad("negative counter")
			}
			key := m[1] + m[2]
			if _, dup := samples[key]; dup {
				bad("duplicate sample")
			}
			samples[key] = v
		}
	}
	return samples
}

// checkSamples compares the samples named in want; a negative want means
// "more than zero".
func checkSamples(t *testing.T, got map[string]float64, want map[string]float64) {
	t.Helper()
	for k, w := range want {
		g, ok := got[k]
		switch {
		case !ok:
			t.Errorf("%s missing", k)
		case w < 0 && g <= 0:
			t.Errorf("%s = %v, want > 0", k, g)
		case w >= 0 && g != w:
			t.Errorf("%s = %v, want %v", k, g, w)
		}
	}
}

// zeroExcept checks that every sample of family is 0 but those listed.
func zeroExcept(t *testing.T, got map[string]float64, family string, nonzero map[string]float64) {
	t.Helper()
	for k, v := range got {
		if strings.HasPrefix(k, family+"{") && v != 0 {
			if _, ok := nonzero[k]; !ok {
				t.Errorf("%s = %v, want 0", k, v)
			}
		}
	}
}

func TestMetricsAfterTraffic(t *testing.T) {
	ts := servertest.Start(t, func(c *server.Config) {
		c.MaxClients = 2
		c.Rate, c.Burst = 0.001, 6 // 6 lines each, then one token per 1000 s
	})
	srv, cfg := ts.Server, ts.Config()

	ms, err := Start("127.0.0.1:0", srv, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer ms.Close()
	if !strings.HasPrefix(ms.URL(), "http://127.0.0.1:") || !strings.HasSuffix(ms.URL(), "/metrics") {
		t.Errorf("URL() = %q", ms.URL())
	}
	addr := ts.Addr

	alice := dialPeer(t, addr, "alice")
	alice.send(`{"type":"join","username":"alice"}`)
	alice.expect("welcome")
	bob := dialPeer(t, addr, "bob")
	bob.send(`{"type":"join","username":"bob"}`)
	bob.expect("welcome")
	alice.expect("joined")

	alice.send(`{"type":"message","text":"hello bob","ref":"r1"}`)
	alice.expect("ack")
	bob.expect("message")
	alice.send(`this is not json`)
	if f := alice.expect("error"); f["code"] != "bad_json" {
		t.Fatalf("alice: got %v, want bad_json", f)
	}
	for i := range 5 { // bob's tokens 2..6
		bob.send(fmt.Sprintf(`{"type":"ping","ref":"p%d"}`, i))
		bob.expect("pong")
	}
	bob.send(`{"type":"ping","ref":"over"}`)
	if f := bob.expect("error"); f["code"] != "rate_limited" {
		t.Fatalf("bob: got %v, want rate_limited", f)
	}
	carol := dialPeer(t, addr, "carol") // one over max_clients
	if f := carol.expect("bye"); f["reason"] != "server_full" {
		t.Fatalf("carol: got %v, want bye server_full", f)
	}
	carol.expectEOF()

	body, hdr := get(t, ms.URL())
	if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type = %q", ct)
	}
	got := parseExposition(t, body)
	want := map[string]float64{
		"pynet_connections_open":                        2,
		"pynet_connections_accepted_total":              3,
		"pynet_users_joined":                            2,
		`pynet_frames_received_total{type="join"}`:      2,
		`pynet_frames_received_total{type="message"}`:   1,
		`pynet_frames_received_total{type="ping"}`:      5,
		`pynet_frames_received_total{type="invalid"}`:   1,
		`pynet_frames_sent_total{type="welcome"}`:       2,
		`pynet_frames_sent_total{type="joined"}`:        1,
		`pynet_frames_sent_total{type="message"}`:       1,
		`pynet_frames_sent_total{type="ack"}`:           1,
		`pynet_frames_sent_total{type="pong"}`:          5,
		`pynet_frames_sent_total{type="error"}`:         2,
		`pynet_frames_sent_total{type="bye"}`:           1,
		"pynet_received_bytes_total":                    float64(alice.sent + bob.sent),
		"pynet_sent_bytes_total":                        -1,
		"pynet_messages_broadcast_total":                1,
		"pynet_deliveries_total":                        1,
		`pynet_errors_total{code="bad_json"}`:           1,
		`pynet_errors_total{code="rate_limited"}`:       1,
		`pynet_disconnects_total{reason="server_full"}`: 1,
		"pynet_rate_limited_total":                      1,
		"pynet_outbound_queue_max_bytes":                -1,
		"pynet_outbound_queue_limit_bytes":              float64(cfg.MaxQueue),
		"pynet_max_clients":                             2,
		`pynet_build_info{version="` + cfg.Version + `",goversion="` + runtime.Version() + `"}`: 1,
		"go_goroutines":              -1,
		"process_start_time_seconds": -1,
	}
	checkSamples(t, got, want)
	zeroExcept(t, got, "pynet_frames_received_total", want)
	zeroExcept(t, got, "pynet_frames_sent_total", want)
	zeroExcept(t, got, "pynet_errors_total", want)
	zeroExcept(t, got, "pynet_disconnects_total", want)
	for _, reason := range []string{"quit", "disconnect", "timeout", "slow_consumer", "join_timeout", "server_full", "shutdown"} {
		if _, ok := got[`pynet_disconnects_total{reason="`+reason+`"}`]; !ok {
			t.Errorf("no disconnects series for reason %s", reason)
		}
	}
	if t.Failed() {
		t.Fatalf("/metrics was:\n%s", body)
	}

	// expvar: the same counters as JSON, next to expvar's own variables.
	vars, _ := get(t, strings.TrimSuffix(ms.URL(), "/metrics")+"/debug/vars")
	var v struct {
		Cmdline  []string       `json:"cmdline"`
		Memstats map[string]any `json:"memstats"`
		Pynet    struct {
			ConnectionsAccepted int64            `json:"connections_accepted"`
			MessagesBroadcast   int64            `json:"messages_broadcast"`
			Errors              map[string]int64 `json:"errors"`
			FramesReceived      map[string]int64 `json:"frames_received"`
		} `json:"pynet"`
	}
	if err := json.Unmarshal([]byte(vars), &v); err != nil {
		t.Fatalf("/debug/vars is not JSON: %v\n%s", err, vars)
	}
	if len(v.Cmdline) == 0 || v.Memstats["HeapAlloc"] == nil || v.Pynet.ConnectionsAccepted != 3 ||
		v.Pynet.MessagesBroadcast != 1 || v.Pynet.Errors["bad_json"] != 1 || v.Pynet.FramesReceived["ping"] != 5 {
		t.Errorf("/debug/vars: unexpected content:\n%s", vars)
	}

	// Leaving and shutting down show up as disconnect reasons.
	alice.send(`{"type":"leave"}`)
	alice.expect("bye")
	alice.expectEOF() // the server counts the close before it closes the socket
	bob.expect("left")
	ts.Stop(t) // returns once every connection is closed; bob's bye is waiting in his socket
	if f := bob.expect("bye"); f["reason"] != "shutdown" {
		t.Fatalf("bob: got %v, want bye shutdown", f)
	}
	bob.expectEOF()
	body, _ = get(t, ms.URL())
	got = parseExposition(t, body)
	want = map[string]float64{
		"pynet_connections_open":                        0,
		"pynet_users_joined":                            0,
		`pynet_frames_received_total{type="leave"}`:     1,
		`pynet_frames_sent_total{type="left"}`:          1,
		`pynet_frames_sent_total{type="bye"}`:           3,
		`pynet_disconnects_total{reason="quit"}`:        1,
		`pynet_disconnects_total{reason="shutdown"}`:    1,
		`pynet_disconnects_total{reason="server_full"}`: 1,
		"pynet_received_bytes_total":                    float64(alice.sent + bob.sent),
	}
	checkSamples(t, got, want)
	zeroExcept(t, got, "pynet_disconnects_total", want)
	if t.Failed() {
		t.Fatalf("/metrics was:\n%s", body)
	}
}

func TestOtherEndpoints(t *testing.T) {
	srv, err := server.New(server.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	ms, err := Start("127.0.0.1:0", srv, slog.New(slog.DiscardHandler), Options{Pprof: true})
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ms.Addr().String()
	if body, _ := get(t, base+"/debug/pprof/"); !strings.Contains(body, "goroutine") {
		t.Errorf("/debug/pprof/ does not list the goroutine profile:\n%s", body)
	}
	if body, _ := get(t, base+"/debug/pprof/goroutine?debug=1"); !strings.Contains(body, "goroutine profile:") {
		t.Errorf("/debug/pprof/goroutine?debug=1 is not a goroutine profile:\n%.300s", body)
	}
	if body, _ := get(t, base+"/"); !strings.Contains(body, "/metrics") {
		t.Errorf("/ does not point to /metrics:\n%s", body)
	}
	c := &http.Client{Timeout: wait}
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"HEAD", "/metrics", http.StatusOK},
		{"POST", "/metrics", http.StatusMethodNotAllowed},
		{"GET", "/nothing", http.StatusNotFound},
	} {
		req, _ := http.NewRequest(tc.method, base+tc.path, nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", tc.method, tc.path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s: %s, want %d", tc.method, tc.path, resp.Status, tc.status)
		}
	}
	if err := ms.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	fresh := &http.Client{Timeout: wait, Transport: &http.Transport{}}
	if _, err := fresh.Get(base + "/metrics"); err == nil {
		t.Errorf("the metrics server still answers after Close")
	}
}

func TestEscaping(t *testing.T) {
	for _, tc := range []struct{ in, label, help string }{
		{"plain", "plain", "plain"},
		{`back\slash`, `back\\slash`, `back\\slash`},
		{"new\nline", `new\nline`, `new\nline`},
		{`"quoted"`, `\"quoted\"`, `"quoted"`},
	} {
		if got := escapeLabel(tc.in); got != tc.label {
			t.Errorf("escapeLabel(%q) = %q, want %q", tc.in, got, tc.label)
		}
		if got := escapeHelp(tc.in); got != tc.help {
			t.Errorf("escapeHelp(%q) = %q, want %q", tc.in, got, tc.help)
		}
	}
}

// pprof is served only when asked for, and an address other hosts can
// reach needs Public (issue: anyone could take profiles and the CPU).
func TestPprofOffByDefaultAndPublicNeedsConsent(t *testing.T) {
	srv, err := server.New(server.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	ms, err := Start("127.0.0.1:0", srv, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer ms.Close()
	resp, err := http.Get("http://" + ms.Addr().String() + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("/debug/pprof/ without Pprof: status %d, want 404", resp.StatusCode)
	}
	if _, err := Start("0.0.0.0:0", srv, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "-metrics-public") {
		t.Fatalf("0.0.0.0 without Public: %v", err)
	}
	pub, err := Start("0.0.0.0:0", srv, slog.New(slog.DiscardHandler), Options{Public: true})
	if err != nil {
		t.Fatal(err)
	}
	pub.Close()
}
