package bench

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func sampleResult() Result {
	return Result{
		Addr: "127.0.0.1:5050", Clients: 100, Senders: 10, Size: 100, Window: 64,
		WarmupS: 1, WindowS: 10, Connected: 100, SetupS: 0.01, ConnectsPerS: 10000, Receivers: 99,
		Sent: 1000, SentPerS: 100, Expected: 99000, Delivered: 99000, DeliveredFraction: 1,
		DeliveriesPerS: 9900,
		Latency:        Latency{Count: 99000, Mean: 900, P50: 800, P90: 1500, P99: 2900, P999: 4000, Max: 12000},
		Errors:         map[string]int64{"rate_limited": 3, "dial": 1},
		Byes:           map[string]int64{},
		ServerCPUS:     1.5, ServerCPUPerDeliveryUS: 0.17, BenchCPUS: 1, BenchCPUPerDeliveryUS: 0.1,
		Notes: []string{"the server is rate limiting"},
	}
}

func TestWriteText(t *testing.T) {
	res := sampleResult()
	var b bytes.Buffer
	if err := res.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"100 clients, 10 senders, 100-byte text, protocol 1, flat out (window 64)",
		"10.0 k/s", "9.90 k/s", "100.0000 %", "p50 800 µs", "p99 2.90 ms", "p99.9 4.00 ms", "max 12.0 ms",
		"dial 1, rate_limited 3", "byes none", "0.170 µs/delivery", "note: the server is rate limiting",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestResultJSON pins the names scripts read from -json.
func TestResultJSON(t *testing.T) {
	b, err := json.Marshal(sampleResult())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"sent", "deliveries_per_s", "protocol", "recipients_per_message", "delivered_fraction", "connects_per_s", "errors",
		"byes", "disconnects", "server_cpu_us_per_delivery", "latency_us"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, b)
		}
	}
	lat, _ := m["latency_us"].(map[string]any)
	for _, k := range []string{"p50", "p90", "p99", "p99_9", "max"} {
		if _, ok := lat[k]; !ok {
			t.Errorf("latency_us lacks %q: %s", k, b)
		}
	}
}
