package bench

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Result is what a run measured. Rates are per second of the measured
// window; latencies are in microseconds. encoding/json gives the -json
// output; WriteText the table.
type Result struct {
	Addr        string  `json:"addr"` // the addresses dialled, separated by commas
	Target      string  `json:"target,omitempty"`
	TLS         bool    `json:"tls,omitempty"` // the clients connected with TLS
	Clients     int     `json:"clients"`       // asked for
	Senders     int     `json:"senders"`       // asked for
	Size        int     `json:"size"`          // bytes of text per message
	Rate        float64 `json:"rate"`          // offered messages/s; 0 = flat out
	Window      int     `json:"window,omitempty"`
	WarmupS     float64 `json:"warmup_s"`
	WindowS     float64 `json:"duration_s"` // the measured window as run (shorter if interrupted)
	Interrupted bool    `json:"interrupted,omitempty"`
	Protocol    int     `json:"protocol"`              // the version the clients joined with
	Rooms       int     `json:"rooms,omitempty"`       // rooms besides the lobby, one per client
	LobbyEvery  int     `json:"lobby_every,omitempty"` // with rooms: every n-th message to the lobby

	// Connection set-up: from the first dial to the last welcome.
	Connected    int     `json:"connected"` // joined
	SetupS       float64 `json:"setup_s"`
	ConnectsPerS float64 `json:"connects_per_s"`
	// CPU per joined connection during set-up (dials, joins and whatever
	// the joins announce to those already in): the server's only with
	// ServerPIDs. On a small machine where bench and server share the
	// processors, ConnectsPerS is bound by the two together.
	SetupServerCPUUS float64 `json:"setup_server_cpu_us_per_conn,omitempty"`
	SetupBenchCPUUS  float64 `json:"setup_bench_cpu_us_per_conn,omitempty"`
	Receivers        int     `json:"receivers_per_message"` // connected - 1: the recipients of a lobby message
	// Nodes, with more than one address: the clients of each.
	Nodes []Node `json:"nodes,omitempty"`

	// Messages of the measured window. Offered is only set for -rate > 0:
	// the messages scheduled in the window; Unsent of them never went out.
	Offered   int64   `json:"offered,omitempty"`
	Unsent    int64   `json:"unsent,omitempty"`
	Sent      int64   `json:"sent"`
	SentLobby int64   `json:"sent_lobby,omitempty"` // with rooms: of Sent, those to the lobby
	SentPerS  float64 `json:"sent_per_s"`

	// Deliveries: Expected adds up the recipients of every message sent
	// (Sent × Receivers without rooms; with rooms the other members of the
	// room it went to); PerMessage = Expected ÷ Sent. Delivered counts those
	// that arrived by the end of the drain. DeliveriesPerS counts every
	// delivery received during the window (warmup messages arriving late
	// included).
	Expected          int64   `json:"expected_deliveries"`
	PerMessage        float64 `json:"recipients_per_message"`
	Delivered         int64   `json:"delivered"`
	DeliveredFraction float64 `json:"delivered_fraction"`
	DeliveriesPerS    float64 `json:"deliveries_per_s"`

	Latency Latency `json:"latency_us"`

	Errors      map[string]int64 `json:"errors"` // error frames by code, and the bench's own (see tally.go)
	Byes        map[string]int64 `json:"byes"`   // bye frames received, by reason
	Disconnects int64            `json:"disconnects"`

	// CPU used during the window, and per delivery received in it. The
	// server's only with ServerPIDs: the sum over those processes.
	ServerPIDs             []int   `json:"server_pids,omitempty"`
	ServerCPUS             float64 `json:"server_cpu_s,omitempty"`
	ServerCPUPerDeliveryUS float64 `json:"server_cpu_us_per_delivery,omitempty"`
	BenchCPUS              float64 `json:"bench_cpu_s"`

	// With ServerPIDs and no senders: the servers' resident memory (the
	// sum over ServerPIDs) once the clients have joined and sat idle for a
	// moment, and its growth per connection since before the first dial.
	ServerRSSKiB          int64   `json:"server_rss_kib,omitempty"`
	ServerRSSKiBPerConn   float64 `json:"server_rss_kib_per_conn,omitempty"`
	BenchCPUPerDeliveryUS float64 `json:"bench_cpu_us_per_delivery"`

	Notes []string `json:"notes,omitempty"`
}

// Node is one address of a run over several: its share of the clients
// (client i dials address nodeOf(i)) and what they received.
type Node struct {
	Addr      string `json:"addr"`
	Clients   int    `json:"clients"`   // the clients that dial it
	Senders   int    `json:"senders"`   // of those, how many send
	Connected int    `json:"connected"` // of those, how many joined
	Delivered int64  `json:"delivered"` // deliveries of measured messages to its clients
}

// Latency sums up the latency histogram of the measured messages, in
// microseconds: receive time minus scheduled send time.
type Latency struct {
	Count uint64  `json:"count"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p99_9"`
	Max   float64 `json:"max"`
}

func latencyOf(h *Histogram) Latency {
	us := func(ns int64) float64 { return float64(ns) / 1e3 }
	return Latency{
		Count: h.Count(),
		Mean:  h.Mean() / 1e3,
		P50:   us(h.Quantile(0.50)),
		P90:   us(h.Quantile(0.90)),
		P99:   us(h.Quantile(0.99)),
		P999:  us(h.Quantile(0.999)),
		Max:   us(h.Max()),
	}
}

// WriteText writes the result as a small aligned table.
func (r *Result) WriteText(w io.Writer) error {
	mode := "flat out"
	if r.Rate > 0 {
		mode = "offered " + si(r.Rate) + " msg/s"
	} else if r.Window > 0 {
		mode += fmt.Sprintf(" (window %d)", r.Window)
	}
	layout := fmt.Sprintf("protocol %d", max(r.Protocol, 1))
	if r.Rooms > 0 {
		layout += fmt.Sprintf(", lobby + %d rooms", r.Rooms)
		if r.LobbyEvery > 0 {
			layout += fmt.Sprintf(" (every %s message to the lobby)", ordinal(r.LobbyEvery))
		}
	}
	if kind, _, err := parseTarget(r.Target, r.Addr); err == nil && kind != targetPyNet {
		layout = kind + " pub/sub, one channel"
	}
	if r.TLS {
		layout += ", TLS"
	}
	fmt.Fprintf(w, "pynet bench %s: %d clients, %d senders, %d-byte text, %s, %s, %s measured after %s warmup\n",
		r.Addr, r.Clients, r.Senders, r.Size, layout, mode, dur(r.WindowS), dur(r.WarmupS))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(cells ...string) { fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t") }
	row("connections", fmt.Sprintf("%d of %d", r.Connected, r.Clients), "in "+dur(r.SetupS), si(r.ConnectsPerS)+"/s")
	if r.SetupServerCPUUS > 0 {
		row("set-up CPU", fmt.Sprintf("server %.1f µs/connection", r.SetupServerCPUUS), fmt.Sprintf("bench %.1f µs/connection", r.SetupBenchCPUUS), "")
	}
	for _, n := range r.Nodes {
		senders, delivered := "", ""
		if r.Senders > 0 {
			senders, delivered = plural(n.Senders, "sender"), fmt.Sprintf("%d delivered", n.Delivered)
		}
		row("  "+n.Addr, fmt.Sprintf("%d of %d", n.Connected, n.Clients), senders, delivered)
	}
	if r.Senders > 0 && r.Receivers > 0 {
		sent := fmt.Sprint(r.Sent)
		if r.Offered > 0 {
			sent += fmt.Sprintf(" of %d offered", r.Offered)
		}
		lobby := ""
		if r.SentLobby > 0 {
			lobby = fmt.Sprintf("%d to the lobby", r.SentLobby)
		}
		row("messages sent", sent, lobby, si(r.SentPerS)+"/s")
		each := fmt.Sprintf("to %d each", r.Receivers)
		if r.Rooms > 0 {
			each = fmt.Sprintf("to %s each on average", sig3(r.PerMessage))
		}
		row("deliveries", fmt.Sprint(r.Delivered), each, si(r.DeliveriesPerS)+"/s")
		row("delivered", fmt.Sprintf("%.4f %%", 100*r.DeliveredFraction), fmt.Sprintf("of %d", r.Expected), "")
		l := r.Latency
		row("latency", "p50 "+us(l.P50), "p90 "+us(l.P90), "p99 "+us(l.P99))
		row("", "p99.9 "+us(l.P999), "max "+us(l.Max), "mean "+us(l.Mean))
	}
	row("errors", counts(r.Errors), "", "")
	row("disconnects", fmt.Sprint(r.Disconnects), "byes "+counts(r.Byes), "")
	if len(r.ServerPIDs) > 0 {
		label, ids, what := "server pid", fmt.Sprint(r.ServerPIDs[0]), ""
		if len(r.ServerPIDs) > 1 {
			var s []string
			for _, pid := range r.ServerPIDs {
				s = append(s, fmt.Sprint(pid))
			}
			label, ids, what = "server pids", strings.Join(s, ","), "CPU and RSS summed"
		}
		row(label, ids, what, "")
	}
	if r.ServerRSSKiB > 0 {
		row("server RSS", fmt.Sprintf("%d KiB", r.ServerRSSKiB), fmt.Sprintf("%.2f KiB/connection", r.ServerRSSKiBPerConn), "idle, joined")
	}
	if r.ServerCPUS > 0 {
		row("server CPU", fmt.Sprintf("%.2f s", r.ServerCPUS), fmt.Sprintf("%.3f µs/delivery", r.ServerCPUPerDeliveryUS), "")
	}
	if r.BenchCPUS > 0 {
		row("bench CPU", fmt.Sprintf("%.2f s", r.BenchCPUS), fmt.Sprintf("%.3f µs/delivery", r.BenchCPUPerDeliveryUS), "")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	return nil
}

// plural writes 1 sender, 2 senders.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// ordinal writes 2 as "2nd" and so on.
func ordinal(n int) string {
	suffix := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suffix = "st"
	case n%10 == 2:
		suffix = "nd"
	case n%10 == 3:
		suffix = "rd"
	}
	return fmt.Sprint(n) + suffix
}

// counts formats a map of counters as "a 1, b 2" (sorted), or "none".
func counts(m map[string]int64) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// si formats a rate with a k/M/G suffix and three significant digits.
func si(v float64) string {
	switch {
	case v >= 1e9:
		return sig3(v/1e9) + " G"
	case v >= 1e6:
		return sig3(v/1e6) + " M"
	case v >= 1e3:
		return sig3(v/1e3) + " k"
	}
	return sig3(v)
}

// sig3 formats v with about three significant digits, never in e-notation.
func sig3(v float64) string {
	switch {
	case v < 10:
		return fmt.Sprintf("%.2f", v)
	case v < 100:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.0f", v)
}

// us formats microseconds as µs or ms.
func us(v float64) string {
	if v >= 1000 {
		return sig3(v/1000) + " ms"
	}
	return sig3(v) + " µs"
}

func dur(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(time.Millisecond).String()
}
