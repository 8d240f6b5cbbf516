package main

import (
	"context"
	"testing"
)

// TestBenchFlagsRefused checks that room settings the bench cannot run are
// refused before anything is dialled (exit status 2).
func TestBenchFlagsRefused(t *testing.T) {
	for _, args := range [][]string{
		{"-rooms", "3"},                         // rooms need protocol 2
		{"-protocol", "3"},                      // no such version
		{"-protocol", "2", "-lobby-every", "2"}, // lobby messages need rooms
		{"-protocol", "2", "-rooms", "101"},     // more rooms than the 100 clients
		{"-protocol", "2", "-rooms", "-1"},
		{"-target", "http://127.0.0.1:1"},                   // no such target
		{"-target", "redis://127.0.0.1"},                    // no port
		{"-target", "nats://127.0.0.1:1", "-protocol", "2"}, // peers: one channel, protocol 1
	} {
		if code := runBench(context.Background(), append(args, "-addr", "127.0.0.1:1")); code != 2 {
			t.Errorf("pynet bench %q: exit %d, want 2", args, code)
		}
	}
}
