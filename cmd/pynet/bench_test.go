package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"pynet/internal/bench"
	"pynet/internal/replog/memlog"
	"pynet/internal/server"
	"pynet/internal/servertest"
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
		{"-target", "nats://127.0.0.1:1,127.0.0.1:2"},       // peers: one address
		{"-target", "pynet://127.0.0.1:1,"},                 // an empty address
		{"-addr", "127.0.0.1:1,127.0.0.1:1"},                // an address twice
		{"-addr", "127.0.0.1:1,127.0.0.1"},                  // no port
		{"-server-pid", "1,1"},                              // a pid twice
		{"-server-pid", "1,x"},
		{"-server-pid", "0"},
	} {
		var out, errOut bytes.Buffer
		args = append([]string{"-addr", "127.0.0.1:1"}, args...)
		if code := runBench(context.Background(), args, &out, &errOut); code != 2 {
			t.Errorf("pynet bench %q: exit %d, want 2", args, code)
		}
	}
}

// TestBenchCluster runs the command against two nodes of one chat with
// -addr A,B and -server-pid listing two processes (this one and its
// parent), and reads the JSON: the addresses, the pids, and each node's
// share of the clients.
func TestBenchCluster(t *testing.T) {
	log := memlog.New()
	var addrs []string
	for _, name := range []string{"n1", "n2"} {
		node := log.Node(name)
		t.Cleanup(func() { node.Close() })
		addrs = append(addrs, servertest.Start(t, func(c *server.Config) { c.Cluster = node }).Addr)
	}
	pids := []int{os.Getpid(), os.Getppid()}
	var out, errOut bytes.Buffer
	code := runBench(context.Background(), []string{
		"-addr", strings.Join(addrs, ","), "-server-pid", fmt.Sprintf("%d,%d", pids[0], pids[1]),
		"-clients", "6", "-senders", "2", "-duration", "300ms", "-warmup", "0s", "-drain", "10s", "-json", "-progress=false",
	}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
	var res bench.Result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("result %q: %v", out.String(), err)
	}
	if res.Addr != strings.Join(addrs, ",") || !slices.Equal(res.ServerPIDs, pids) {
		t.Errorf("addr %q, server pids %v; want %q and %v", res.Addr, res.ServerPIDs, strings.Join(addrs, ","), pids)
	}
	if res.Delivered == 0 || res.Delivered != res.Expected || len(res.Errors) != 0 {
		t.Errorf("delivered %d of %d, errors %v", res.Delivered, res.Expected, res.Errors)
	}
	for k, n := range res.Nodes {
		if n.Addr != addrs[k] || n.Clients != 3 || n.Senders != 1 || n.Connected != 3 || n.Delivered == 0 {
			t.Errorf("node %d: %+v; want %s with 3 clients, 1 sender, all joined, deliveries", k, n, addrs[k])
		}
	}
	if len(res.Nodes) != 2 {
		t.Errorf("nodes %+v, want two", res.Nodes)
	}
}
