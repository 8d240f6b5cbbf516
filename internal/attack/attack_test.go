package attack

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"pynet/internal/server"
	"pynet/internal/servertest"
	"pynet/protocol"
)

// tiny returns a configuration for a second-long run of scenario against
// srv: a few connections, the pair chatting fast enough to measure.
func tiny(srv *servertest.Server, scenario string) Config {
	cfg := DefaultConfig()
	cfg.Addr = srv.Addr
	cfg.Scenario = scenario
	cfg.Sources = 3
	cfg.InFlight = 10
	cfg.Duration = time.Second
	cfg.UserRate = 20
	cfg.FreshEvery = 200 * time.Millisecond
	cfg.Drain = time.Second
	return cfg
}

// start runs a server with the defaults (the frame rate limit on, as in
// production), changed by mutate.
func start(t *testing.T, mutate func(*server.Config)) *servertest.Server {
	t.Helper()
	return servertest.Start(t, func(c *server.Config) {
		d := server.DefaultConfig()
		c.Rate, c.Burst = d.Rate, d.Burst
		if mutate != nil {
			mutate(c)
		}
	})
}

func run(t *testing.T, cfg Config) *Report {
	t.Helper()
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	var b bytes.Buffer
	rep.Print(&b)
	t.Logf("report:\n%s", b.String())
	return rep
}

// unharmed checks that the well-behaved pair lost nothing and got every
// fresh join.
func unharmed(t *testing.T, rep *Report) {
	t.Helper()
	u := rep.User
	if u.Sent == 0 || u.Lost != 0 || u.Received != u.Sent || u.Acked != u.Sent || len(u.Refused) != 0 || len(u.Errors) != 0 {
		t.Errorf("the pair: sent %d, acked %d, received %d, lost %d, refused %v, errors %v; want everything through",
			u.Sent, u.Acked, u.Received, u.Lost, u.Refused, u.Errors)
	}
	if u.FreshTried == 0 || u.FreshOK != u.FreshTried {
		t.Errorf("fresh joins: %d of %d (%v); want all", u.FreshOK, u.FreshTried, u.FreshFail)
	}
	if u.P50MS <= 0 || u.MaxMS < u.P99MS || u.P99MS < u.P50MS {
		t.Errorf("latencies p50 %v p99 %v max %v: not ordered", u.P50MS, u.P99MS, u.MaxMS)
	}
}

func TestOneAddress(t *testing.T) {
	t.Parallel()
	srv := start(t, func(c *server.Config) { c.MaxPerIP = 3 })
	cfg := tiny(srv, "one-address")
	cfg.Conns = 12
	cfg.ExpectPerIP = 3
	rep := run(t, cfg)
	a := rep.Attack
	if a.Tried != 12 || a.Accepted != 3 || a.Refused["ip_limit"] != 9 || a.Counts["joins"] != 3 {
		t.Errorf("tried %d, accepted %d, refused %v, counts %v; want 12 tried, 3 accepted and joined, 9 ip_limit",
			a.Tried, a.Accepted, a.Refused, a.Counts)
	}
	if a.OpenAtEnd != 3 || len(a.Closed) != 0 || len(a.Errors) != 0 {
		t.Errorf("open at the end %d, closed %v, errors %v; want the 3 held to the end", a.OpenAtEnd, a.Closed, a.Errors)
	}
	unharmed(t, rep)
	if !rep.Targets.Met {
		t.Errorf("targets not met: %v", rep.Targets.Checks)
	}
}

func TestJoinstorm(t *testing.T) {
	t.Parallel()
	srv := start(t, nil)
	cfg := tiny(srv, "joinstorm")
	cfg.Joins = 30
	rep := run(t, cfg)
	a := rep.Attack
	if a.Tried != 30 || a.Accepted != 30 || a.Counts["joins"] != 30 || a.PeakOpen != 30 || len(a.Refused) != 0 {
		t.Errorf("tried %d, accepted %d, peak open %d, counts %v, refused %v; want 30 joined", a.Tried, a.Accepted, a.PeakOpen, a.Counts, a.Refused)
	}
	if a.DoneSeconds <= 0 || a.BytesIn == 0 {
		t.Errorf("done in %v s, %d bytes received", a.DoneSeconds, a.BytesIn)
	}
	// The run closed every connection: the server sees them go.
	for by := time.Now().Add(5 * time.Second); srv.Stats().Joined.Load() != 0 && time.Now().Before(by); {
		time.Sleep(10 * time.Millisecond)
	}
	if n := srv.Stats().Joined.Load(); n != 0 {
		t.Errorf("%d users still joined 5 s after the run; want every connection closed", n)
	}
	unharmed(t, rep)
}

func TestRename(t *testing.T) {
	t.Parallel()
	srv := start(t, nil)
	cfg := tiny(srv, "rename")
	cfg.Renamers = 3
	rep := run(t, cfg)
	a := rep.Attack
	sent, limited := a.Counts["nick sent"], a.Counts["error rate_limited"]
	// Each renamer sends up to 19 in the second; the rename limit lets 5
	// through. On a busy machine fewer are sent, and the answers to the
	// last few may not be in by the end.
	if a.Counts["joins"] != 3 || sent < 3*5+3 || sent > 3*20 || limited == 0 || limited > sent-3*5 {
		t.Errorf("counts %v; want 3 joined, up to 57 nicks, all but 5 each refused rate_limited", a.Counts)
	}
	unharmed(t, rep)
}

func TestChurn(t *testing.T) {
	t.Parallel()
	// A small join burst so that the throttle bites within the second.
	srv := start(t, func(c *server.Config) { c.JoinBurst, c.JoinEvery = 4, 100*time.Millisecond })
	cfg := tiny(srv, "churn")
	cfg.Workers, cfg.RoomSize = 3, 6
	rep := run(t, cfg)
	a := rep.Attack
	if a.Counts["cycles"] < 3 || a.Counts["join refused rate_limited"] == 0 {
		t.Errorf("counts %v; want cycles and throttled joins", a.Counts)
	}
	if a.Counts["joins"] < a.Counts["cycles"]+6 {
		t.Errorf("counts %v: joins must cover the room and every cycle", a.Counts)
	}
	if rep.SetupSeconds <= 0 {
		t.Errorf("set-up took %v s", rep.SetupSeconds)
	}
	unharmed(t, rep)
}

func TestSlowloris(t *testing.T) {
	t.Parallel()
	// Room for two max-size partial lines; a line must end within 600 ms.
	// The server pings before that: an attacker that answered would end
	// its line with the pong's LF and escape the line timeout.
	srv := start(t, func(c *server.Config) {
		c.LineBudget = 2 * (65536 - 512)
		c.LineTimeout = 600 * time.Millisecond
		c.PingInterval = 300 * time.Millisecond
	})
	cfg := tiny(srv, "slowloris")
	cfg.Conns = 6
	cfg.Drip = 200 * time.Millisecond
	cfg.Duration = 1500 * time.Millisecond
	rep := run(t, cfg)
	a := rep.Attack
	full, timeout := a.Closed["bye server_full"], a.Closed["bye timeout"]
	if a.Tried != 6 || a.Accepted != 6 || a.Counts["partial lines sent"] != 6 {
		t.Errorf("tried %d, accepted %d, counts %v; want 6 partial lines", a.Tried, a.Accepted, a.Counts)
	}
	// Lines grow by doubling, so which connections the budget cuts off
	// depends on the order their bytes arrive in; at most two fit.
	if full < 4 || timeout < 1 || full+timeout != 6 || a.OpenAtEnd != 0 {
		t.Errorf("closed %v, open at the end %d; want at least 4 cut off by the line budget, the rest by the line timeout", a.Closed, a.OpenAtEnd)
	}
	if a.Counts["drips"] == 0 {
		t.Errorf("counts %v: no drips", a.Counts)
	}
	unharmed(t, rep)
}

func TestHistoryBomb(t *testing.T) {
	t.Parallel()
	// A short write timeout: non-readers are cut off within the run.
	srv := start(t, func(c *server.Config) { c.WriteTimeout = 300 * time.Millisecond })
	cfg := tiny(srv, "history-bomb")
	cfg.NonReaders = 4
	cfg.Duration = 1500 * time.Millisecond
	rep := run(t, cfg)
	a := rep.Attack
	if a.Counts["bombs acked"] != 100 || a.Counts["joins"] != 4 {
		t.Errorf("counts %v; want 4 bombers joined and 100 bombs acked", a.Counts)
	}
	if want := 2*protocol.MaxText + 80; a.BombFrameBytes < want {
		t.Errorf("a bomb is %d bytes as sent; want over %d (every byte of text escaped)", a.BombFrameBytes, want)
	}
	if a.Tried != 8 || a.Counts["non-readers closed by the server"] != 4 {
		t.Errorf("tried %d, counts %v; want 4 bombers and 4 non-readers, all cut off as slow consumers", a.Tried, a.Counts)
	}
	unharmed(t, rep)
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		mutate func(*Config)
		want   string
	}{
		{func(c *Config) { c.Scenario = "nope" }, "unknown scenario"},
		{func(c *Config) { c.Addr = "10.0.0.1:5050" }, "only this machine"},
		{func(c *Config) { c.Addr = "[::1]:5050" }, "only this machine"},
		{func(c *Config) { c.Addr = "example.com:5050" }, "numeric loopback"},
		{func(c *Config) { c.Addr = "127.0.0.1:0" }, "only this machine"},
		{func(c *Config) { c.Sources = MaxSources + 1 }, "sources"},
		{func(c *Config) { c.Conns = 0 }, "sizes"},
		{func(c *Config) { c.NickRate = 0 }, "nick-rate"},
	} {
		cfg := DefaultConfig()
		tc.mutate(&cfg)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate() = %v; want an error about %q", err, tc.want)
		}
	}
	cfg := DefaultConfig()
	cfg.Addr = "localhost:5050"
	if err := cfg.Validate(); err != nil {
		t.Errorf("localhost: %v", err)
	}
	if got := cfg.source(0).String(); got != "127.0.0.2" {
		t.Errorf("source 0 = %s", got)
	}
	if got := cfg.source(99).String(); got != "127.0.0.101" {
		t.Errorf("source 99 = %s", got)
	}
	if got := cfg.source(100).String(); got != "127.0.0.2" {
		t.Errorf("source 100 = %s; want the addresses reused in turn", got)
	}
}

func TestFrameReader(t *testing.T) {
	long := `{"type":"welcome","users":["` + strings.Repeat("x", 100) + `"]}`
	in := long + "\n" + `{"type":"bye","reason":"ip_limit"}` + "\n"
	fr := newFrameReader(strings.NewReader(in), 64, nil)
	line, err := fr.next()
	if err != nil || frameType(line) != "welcome" {
		t.Fatalf("first: %q, %v; want the head of the welcome", line, err)
	}
	line, err = fr.next()
	if err != nil || decodeSmall(line).Reason != "ip_limit" {
		t.Fatalf("second: %q, %v; want the bye after the long line", line, err)
	}
	if _, err := fr.next(); err == nil {
		t.Fatal("want EOF")
	}
}

func TestMessageText(t *testing.T) {
	at := time.Unix(1700000000, 123456789)
	for _, size := range []int{0, 10, 40, 4096} {
		text := messageText(42, at, size)
		if size > 40 && len(text) != size {
			t.Errorf("size %d: text of %d bytes", size, len(text))
		}
		seq, got, ok := parseText(text)
		if !ok || seq != 42 || !got.Equal(at) {
			t.Errorf("size %d: parseText = %d %v %v", size, seq, got, ok)
		}
	}
	if _, _, ok := parseText("wb x y"); ok {
		t.Error("parsed garbage")
	}
}

func TestPercentile(t *testing.T) {
	d := make([]time.Duration, 100)
	for i := range d {
		d[i] = time.Duration(i+1) * time.Millisecond
	}
	if p := percentile(d, 0.5); p != 50 {
		t.Errorf("p50 = %v", p)
	}
	if p := percentile(d, 0.99); p != 99 {
		t.Errorf("p99 = %v", p)
	}
	if p := percentile(nil, 0.99); p != 0 {
		t.Errorf("empty p99 = %v", p)
	}
}
