package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"pynet/internal/attack"
	"pynet/internal/server"
	"pynet/internal/servertest"
)

// TestAttackCommand runs a tiny one-address attack through the command line
// and reads its JSON report.
func TestAttackCommand(t *testing.T) {
	srv := servertest.Start(t, func(c *server.Config) { c.MaxPerIP = 2 })
	var out, errOut bytes.Buffer
	code := runAttack(context.Background(), []string{
		"-addr", srv.Addr, "-scenario", "one-address", "-conns", "6", "-sources", "2",
		"-duration", "1s", "-drain", "1s", "-fresh-every", "300ms", "-expect-per-ip", "2", "-json", "-quiet",
	}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
	var rep attack.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("report %q: %v", out.String(), err)
	}
	if rep.Scenario != "one-address" || rep.Attack.Tried != 6 || rep.Attack.Accepted != 2 || rep.Attack.Refused["ip_limit"] != 4 {
		t.Errorf("report %+v; want 6 tried, 2 accepted, 4 ip_limit", rep.Attack)
	}
	if !rep.Targets.Met || rep.User.FreshOK == 0 {
		t.Errorf("targets %v, fresh joins %d", rep.Targets, rep.User.FreshOK)
	}
	if errOut.Len() != 0 {
		t.Errorf("stderr with -quiet: %q", errOut.String())
	}
}

func TestAttackBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-addr", "127.0.0.1:5050"}, "-scenario is required"},
		{[]string{"-addr", "192.168.1.1:5050", "-scenario", "joinstorm"}, "only this machine"},
		{[]string{"-scenario", "storm"}, "unknown scenario"},
		{[]string{"-scenario", "churn", "-sources", "500"}, "sources"},
		{[]string{"-scenario", "churn", "extra"}, "unexpected argument"},
	} {
		var out, errOut bytes.Buffer
		if code := runAttack(context.Background(), tc.args, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, errOut.String(), tc.want)
		}
	}
}
