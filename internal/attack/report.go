package attack

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// Report is the outcome of one run (its JSON is what `pynet attack -json`
// prints).
type Report struct {
	Scenario      string        `json:"scenario"`
	Addr          string        `json:"addr"`
	Sources       int           `json:"sources"`
	Started       time.Time     `json:"started"`
	SetupSeconds  float64       `json:"setup_seconds"`  // before the attack phase (rename, churn, history-bomb)
	AttackSeconds float64       `json:"attack_seconds"` // the attack phase, during which the pair chats
	Config        ConfigSummary `json:"config"`
	Attack        AttackReport  `json:"attack"`
	User          UserReport    `json:"user"`
	Server        ServerReport  `json:"server"`
	Harness       HarnessReport `json:"harness"`
	Targets       Targets       `json:"targets"`
}

// ConfigSummary is the part of the Config that shaped the run.
type ConfigSummary struct {
	InFlight   int     `json:"in_flight"`
	Joins      int     `json:"joins,omitempty"`
	Renamers   int     `json:"renamers,omitempty"`
	NickRate   float64 `json:"nick_rate,omitempty"`
	Workers    int     `json:"workers,omitempty"`
	RoomSize   int     `json:"room_size,omitempty"`
	Conns      int     `json:"conns,omitempty"`
	Partial    int     `json:"partial,omitempty"`
	DripMS     int64   `json:"drip_ms,omitempty"`
	Bombs      int     `json:"bombs,omitempty"`
	NonReaders int     `json:"non_readers,omitempty"`
	UserRate   float64 `json:"user_rate"`
	UserSize   int     `json:"user_size,omitempty"`
	DurationS  float64 `json:"duration_s"`
}

// AttackReport is what the attackers did and got.
type AttackReport struct {
	// Tried counts connection attempts; Accepted those the server kept
	// (not refused when accepted: no bye ip_limit or server_full as first
	// answer, or, for connections that never read, dialled successfully).
	Tried    int64 `json:"tried"`
	Accepted int64 `json:"accepted"`
	// Refused counts connections refused by a bye before they could do
	// anything, by reason (server_full, ip_limit).
	Refused map[string]int64 `json:"refused"`
	// Errors counts failed dials and connections that ended without an
	// answer, by kind.
	Errors map[string]int64 `json:"errors"`
	// Closed counts accepted connections the server ended before the run
	// did, by how ("bye timeout", "bye server_full", "eof", "reset", …).
	Closed map[string]int64 `json:"closed"`
	// Counts are the scenario's own numbers (joins, nick_sent, cycles, …).
	Counts    map[string]int64 `json:"counts"`
	PeakOpen  int64            `json:"peak_open"`
	OpenAtEnd int64            `json:"open_at_end"`
	BytesIn   int64            `json:"bytes_in"`
	BytesOut  int64            `json:"bytes_out"`
	// DoneSeconds: joinstorm and one-address, how long the attempts took.
	DoneSeconds float64 `json:"done_seconds,omitempty"`
	// BombFrameBytes: history-bomb, the size of one bomb as the server
	// sends it (estimated from its encoder: text escaped, plus the rest of
	// the frame).
	BombFrameBytes int `json:"bomb_frame_bytes,omitempty"`
}

// UserReport is what the well-behaved pair saw.
type UserReport struct {
	Protocol int   `json:"protocol"`
	Sent     int64 `json:"sent"`
	Acked    int64 `json:"acked"`
	// Refused counts messages the server refused, by error code.
	Refused  map[string]int64 `json:"refused"`
	Received int64            `json:"received"`
	// Lost counts messages sent and not refused that the other user did
	// not receive by the end of the drain.
	Lost   int64   `json:"lost"`
	P50MS  float64 `json:"p50_ms"`
	P99MS  float64 `json:"p99_ms"`
	MaxMS  float64 `json:"max_ms"`
	Over1s int64   `json:"over_1s"`

	FreshTried  int64            `json:"fresh_tried"`
	FreshOK     int64            `json:"fresh_ok"`
	FreshFailed int64            `json:"fresh_failed"`
	FreshFail   map[string]int64 `json:"fresh_fail"`
	FreshP50MS  float64          `json:"fresh_p50_ms"`
	FreshMaxMS  float64          `json:"fresh_max_ms"`
	// Errors are what went wrong for the pair's own connections (a bye, a
	// dropped connection, an error frame without a ref).
	Errors []string `json:"errors"`
}

// ServerReport is what the harness saw of the server process.
type ServerReport struct {
	PID        int     `json:"pid,omitempty"`
	PeakRSSMiB float64 `json:"peak_rss_mib,omitempty"`
	CPUSeconds float64 `json:"cpu_seconds,omitempty"`
	// PeakTCPMemMiB is the kernel's TCP buffer memory of the whole machine
	// (both ends of every connection), from /proc/net/sockstat.
	PeakTCPMemMiB float64  `json:"peak_tcp_mem_mib"`
	Notes         []string `json:"notes,omitempty"`
}

// HarnessReport is about the harness process itself.
type HarnessReport struct {
	NoFile       uint64   `json:"nofile"`
	NoFileNeeded int      `json:"nofile_needed"`
	CPUSeconds   float64  `json:"cpu_seconds"`
	Notes        []string `json:"notes,omitempty"`
}

// Targets are issue 9's targets for this scenario and whether the run met
// them.
type Targets struct {
	Met    bool     `json:"met"`
	Checks []string `json:"checks"`
}

// rssTargetMiB is issue 9's bound on server RSS under slowloris and
// history-bomb.
const rssTargetMiB = 512

// p99TargetMS is issue 9's bound on the well-behaved user's p99 latency.
const p99TargetMS = 250

// judge fills r.Targets: for every scenario, the well-behaved user loses
// nothing, no message is refused, its p99 stays under 250 ms and its fresh
// joins all succeed; slowloris and history-bomb also keep the server's RSS
// under 512 MiB (when measured); one-address gets exactly ExpectPerIP.
func (r *Report) judge(cfg *Config) {
	t := Targets{Met: true}
	check := func(ok bool, format string, args ...any) {
		mark := "met   "
		if !ok {
			mark = "MISSED"
			t.Met = false
		}
		t.Checks = append(t.Checks, mark+" "+fmt.Sprintf(format, args...))
	}
	u := &r.User
	refused := int64(0)
	for _, n := range u.Refused {
		refused += n
	}
	check(u.Lost == 0 && refused == 0 && len(u.Errors) == 0 && u.Sent > 0,
		"the well-behaved pair loses nothing (sent %d, lost %d, refused %d, errors %d)", u.Sent, u.Lost, refused, len(u.Errors))
	check(u.P99MS < p99TargetMS && u.Received > 0, "its message p99 is under %d ms (%.1f ms)", p99TargetMS, u.P99MS)
	check(u.FreshFailed == 0 && u.FreshOK > 0, "its fresh joins all succeed (%d of %d)", u.FreshOK, u.FreshTried)
	switch cfg.Scenario {
	case "slowloris", "history-bomb":
		if cfg.ServerPID > 0 {
			check(r.Server.PeakRSSMiB > 0 && r.Server.PeakRSSMiB < rssTargetMiB, "server RSS stays under %d MiB (peak %.0f MiB)", rssTargetMiB, r.Server.PeakRSSMiB)
		} else {
			t.Checks = append(t.Checks, "n/a    server RSS (no -server-pid)")
		}
	case "one-address":
		check(r.Attack.Accepted == int64(cfg.ExpectPerIP), "the one address gets %d connections (%d)", cfg.ExpectPerIP, r.Attack.Accepted)
	}
	r.Targets = t
}

// percentile returns the p-th percentile (0..1) of sorted durations in ms.
func percentile(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	i = min(max(i, 0), len(sorted)-1)
	return ms(sorted[i])
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func sortDurations(d []time.Duration) {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
}

// Print writes the report for people.
func (r *Report) Print(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	a, u, s := &r.Attack, &r.User, &r.Server
	p("scenario %s against %s, attackers from %d addresses (127.0.0.2-127.0.0.%d)", r.Scenario, r.Addr, r.Sources, r.Sources+1)
	p("  set-up %.1f s, attack %.1f s", r.SetupSeconds, r.AttackSeconds)
	p("attackers")
	p("  connections: tried %d, accepted %d, peak open %d, open at the end %d", a.Tried, a.Accepted, a.PeakOpen, a.OpenAtEnd)
	p("  refused: %s", formatCounts(a.Refused))
	p("  errors: %s", formatCounts(a.Errors))
	p("  closed by the server: %s", formatCounts(a.Closed))
	p("  counts: %s", formatCounts(a.Counts))
	if a.DoneSeconds > 0 {
		p("  all attempts done in %.1f s", a.DoneSeconds)
	}
	if a.BombFrameBytes > 0 {
		p("  one bomb as sent by the server: %d bytes", a.BombFrameBytes)
	}
	p("  bytes received %s, sent %s", mib(a.BytesIn), mib(a.BytesOut))
	p("well-behaved pair (protocol %d, 127.0.0.201 and 127.0.0.202)", u.Protocol)
	p("  messages: sent %d, acked %d, received %d, lost %d, refused: %s", u.Sent, u.Acked, u.Received, u.Lost, formatCounts(u.Refused))
	p("  latency: p50 %.1f ms, p99 %.1f ms, max %.1f ms, %d over 1 s", u.P50MS, u.P99MS, u.MaxMS, u.Over1s)
	p("  fresh joins: %d of %d succeeded (p50 %.1f ms, max %.1f ms), failed: %s", u.FreshOK, u.FreshTried, u.FreshP50MS, u.FreshMaxMS, formatCounts(u.FreshFail))
	if len(u.Errors) > 0 {
		p("  errors: %s", strings.Join(u.Errors, "; "))
	}
	if s.PID > 0 {
		p("server (pid %d): peak RSS %.0f MiB, CPU %.1f s", s.PID, s.PeakRSSMiB, s.CPUSeconds)
	}
	p("machine: peak kernel TCP memory %.0f MiB", s.PeakTCPMemMiB)
	for _, n := range s.Notes {
		p("  note: %s", n)
	}
	p("harness: RLIMIT_NOFILE %d (needs about %d), CPU %.1f s", r.Harness.NoFile, r.Harness.NoFileNeeded, r.Harness.CPUSeconds)
	for _, n := range r.Harness.Notes {
		p("  note: %s", n)
	}
	p("targets (issue 9):")
	for _, c := range r.Targets.Checks {
		p("  %s", c)
	}
}

func mib(n int64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
