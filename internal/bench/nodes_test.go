package bench

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"
)

func TestParsePIDs(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int
	}{
		{"", nil},
		{" ", nil},
		{"123", []int{123}},
		{"1,2,3", []int{1, 2, 3}},
		{" 7 , 5 ", []int{7, 5}},
	} {
		got, err := ParsePIDs(tc.in)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("ParsePIDs(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"0", "-1", "x", "1,", ",1", "1,,2", "1;2", "3,3", "1.5"} {
		if got, err := ParsePIDs(in); err == nil {
			t.Errorf("ParsePIDs(%q) = %v; want an error", in, got)
		}
	}
}

func TestValidateAddrsAndPIDs(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Addr = "127.0.0.1:1,127.0.0.1:2,127.0.0.1:3"
	cfg.ServerPIDs = []int{10, 11, 12, 13}
	if err := cfg.Validate(); err != nil {
		t.Errorf("three addresses, four pids: %v", err)
	}
	for _, mutate := range []func(*Config){
		func(c *Config) { c.Addr = "127.0.0.1:1,127.0.0.1:1" },
		func(c *Config) { c.Addr = "127.0.0.1:1," },
		func(c *Config) { c.ServerPIDs = []int{10, 10} },
		func(c *Config) { c.ServerPIDs = []int{-1} },
	} {
		c := cfg
		mutate(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("addr %q, pids %v accepted", c.Addr, c.ServerPIDs)
		}
	}
}

// TestNodeOf checks the spreading of clients over the addresses, for every
// small shape: one address is today's (all on it); without rooms client i
// dials i mod n; and always the clients of each node, the senders (any
// first S clients) of each node, and the members of each room on each node
// differ by one at most, and each room's first m members are on min(m, n)
// nodes.
func TestNodeOf(t *testing.T) {
	spread := func(cnt []int) int { return slices.Max(cnt) - slices.Min(cnt) }
	for n := 1; n <= 6; n++ {
		for clients := 1; clients <= 60; clients++ {
			for rooms := 0; rooms <= clients; rooms++ {
				shape := fmt.Sprintf("%d nodes, %d clients, %d rooms", n, clients, rooms)
				perNode := make([]int, n) // clients 0..i
				for i := range clients {
					k := nodeOf(i, n, rooms)
					switch {
					case k < 0 || k >= n:
						t.Fatalf("%s: client %d on node %d", shape, i, k)
					case rooms == 0 && k != i%n:
						t.Fatalf("%s: client %d on node %d, want i mod n", shape, i, k)
					}
					perNode[k]++
					if d := spread(perNode); d > 1 { // the first i+1 clients: the senders when S = i+1
						t.Fatalf("%s: clients 0..%d per node %v", shape, i, perNode)
					}
				}
				for j := range rooms {
					perNode := make([]int, n)
					m := 0
					for i := j; i < clients; i += rooms {
						perNode[nodeOf(i, n, rooms)]++
						m++
						on := 0
						for _, c := range perNode {
							if c > 0 {
								on++
							}
						}
						if d := spread(perNode); d > 1 || on != min(m, n) {
							t.Fatalf("%s: room %d's first %d members per node %v", shape, j, m, perNode)
						}
					}
				}
			}
		}
	}
}

func TestSumOver(t *testing.T) {
	cpu := map[int]time.Duration{10: time.Second, 11: 2 * time.Second, 12: 30 * time.Millisecond}
	read := func(pid int) (time.Duration, error) {
		v, ok := cpu[pid]
		if !ok {
			return 0, errors.New("no such process")
		}
		return v, nil
	}
	if sum, _, err := sumOver([]int{10, 11, 12}, read); err != nil || sum != 3030*time.Millisecond {
		t.Errorf("sum over three = %v, %v; want 3.03s", sum, err)
	}
	if sum, _, err := sumOver([]int{11}, read); err != nil || sum != 2*time.Second {
		t.Errorf("sum over one = %v, %v; want 2s", sum, err)
	}
	if sum, pid, err := sumOver([]int{10, 99, 12}, read); err == nil || pid != 99 || sum != 0 {
		t.Errorf("sum with a missing process = %v, %d, %v; want 0, 99 and an error", sum, pid, err)
	}
	// The real readers, on this process: one pid is today's reading.
	self := os.Getpid()
	if rss, _, err := sumOver([]int{self}, procRSS); err != nil || rss <= 0 {
		t.Errorf("RSS of this process = %d, %v", rss, err)
	}
}
