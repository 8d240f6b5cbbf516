package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"pynet/internal/cluster"
	"pynet/internal/replog"
)

// clusterFlags are the -cluster flags of pynet server: several nodes, one
// chat, through NATS JetStream (docs/cluster.md).
type clusterFlags struct {
	urls     string
	node     string
	creds    string
	tlsCA    string
	tlsCert  string
	tlsKey   string
	replicas int
	snapshot int
}

func (cf *clusterFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&cf.urls, "cluster", "", "NATS `urls` (nats://HOST:PORT, comma-separated) with JetStream: run as one node of a cluster that shares rooms, ids, history, names and sessions (no -data)")
	fs.StringVar(&cf.node, "cluster-node", "", "this node's `name`, unique in the cluster (default: the host name)")
	fs.StringVar(&cf.creds, "cluster-creds", "", "NATS credentials `file` (.creds)")
	fs.StringVar(&cf.tlsCA, "cluster-tls-ca", "", "PEM `file` of the CAs that sign the NATS servers' certificates")
	fs.StringVar(&cf.tlsCert, "cluster-tls-cert", "", "PEM client certificate `file` for NATS (with -cluster-tls-key)")
	fs.StringVar(&cf.tlsKey, "cluster-tls-key", "", "PEM client key `file` for -cluster-tls-cert")
	fs.IntVar(&cf.replicas, "cluster-replicas", 1, "JetStream replicas of the chat stream and buckets (3 on a 3-server NATS cluster)")
	fs.IntVar(&cf.snapshot, "cluster-snapshot-every", 1000, "control entries (joins, enters, holds...) between snapshots of the shared state")
}

// minClusterRetain is the smallest -retain (but 0) a cluster accepts: the
// control entries share the stream's per-subject limit with the rooms, and
// a starting node needs every one since the newest snapshot.
const minClusterRetain = 10000

// check validates the flags; data and retain are -data's and -retain's.
func (cf *clusterFlags) check(data string, retain int) error {
	if cf.urls == "" {
		if cf.node != "" || cf.creds != "" || cf.tlsCA != "" || cf.tlsCert != "" || cf.tlsKey != "" {
			return errors.New("the -cluster-* flags need -cluster")
		}
		return nil
	}
	if data != "" {
		return errors.New("-data and -cluster do not go together: a cluster keeps its history in JetStream")
	}
	if retain > 0 && retain < minClusterRetain {
		return fmt.Errorf("-retain must be 0 or at least %d with -cluster (control entries are kept like a room's messages), not %d", minClusterRetain, retain)
	}
	for _, u := range strings.Split(cf.urls, ",") {
		if u = strings.TrimSpace(u); !strings.HasPrefix(u, "nats://") && !strings.HasPrefix(u, "tls://") {
			return fmt.Errorf("-cluster: %q is not a nats:// or tls:// URL", u)
		}
	}
	if (cf.tlsCert == "") != (cf.tlsKey == "") {
		return errors.New("-cluster-tls-cert and -cluster-tls-key go together")
	}
	if cf.replicas < 1 || cf.replicas > 5 {
		return fmt.Errorf("-cluster-replicas must be from 1 to 5, not %d", cf.replicas)
	}
	if cf.snapshot < 1 {
		return fmt.Errorf("-cluster-snapshot-every must be at least 1, not %d", cf.snapshot)
	}
	if cf.node == "" {
		host, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("-cluster-node: no host name to default to: %v", err)
		}
		cf.node = host
	}
	if !validNodeName(cf.node) {
		return fmt.Errorf("-cluster-node %q: use letters, digits, - and _ (at most 64)", cf.node)
	}
	return nil
}

func validNodeName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// open connects to NATS and makes (or checks) the stream and buckets.
func (cf *clusterFlags) open(ctx context.Context, retain int, log *slog.Logger) (replog.Log, error) {
	var urls []string
	for _, u := range strings.Split(cf.urls, ",") {
		urls = append(urls, strings.TrimSpace(u))
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return cluster.Open(ctx, cluster.Options{URLs: urls, Node: cf.node, Creds: cf.creds, TLSCA: cf.tlsCA,
		TLSCert: cf.tlsCert, TLSKey: cf.tlsKey, Replicas: cf.replicas, Retain: retain, Logger: log})
}
