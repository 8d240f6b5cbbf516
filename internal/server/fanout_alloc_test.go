//go:build !race

// The race detector allocates on its own account, so allocation budgets are
// checked without it (.ci/run runs them separately).

package server

import (
	"strings"
	"testing"

	"pynet/protocol"
)

// The fanout allocates per message, never per recipient: encoding once and
// sharing the bytes, and starting writers without a closure.
func TestFanoutAllocationsDoNotGrowWithRecipients(t *testing.T) {
	text := strings.Repeat("y", 100)
	f := &protocol.Frame{Type: protocol.MsgMessage, Text: text}
	allocs := map[int]float64{}
	for _, n := range []int{10, 1000} {
		s, sender := roomWith(t, n)
		// Warm up: each queue alternates between two frame slices (one
		// filling, one being written), so it takes two rounds to make both.
		for i := 0; i < 3; i++ {
			s.hub.publish(sender, protocol.Lobby, text, false, f)
			s.wg.Wait()
		}
		allocs[n] = testing.AllocsPerRun(200, func() {
			s.hub.publish(sender, protocol.Lobby, text, false, f)
			s.wg.Wait() // let every writer finish, so each run starts alike
		})
	}
	t.Logf("allocations per broadcast: %v", allocs)
	if allocs[1000] > allocs[10]+1 {
		t.Fatalf("allocations per broadcast grow with recipients: %v", allocs)
	}
}
