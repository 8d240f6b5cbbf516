package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestServerFlagsDefaults(t *testing.T) {
	sf, err := parseServerFlags(nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	c := sf.cfg
	if sf.addr != "127.0.0.1:5050" || c.History != 100 || c.MaxClients != 10000 || c.Rate != 20 ||
		c.Burst != 40 || c.PingInterval != 30*time.Second || c.IdleTimeout != 90*time.Second ||
		c.JoinTimeout != 60*time.Second || c.MaxFrame != 65536 || c.MaxQueue != 1<<20 {
		t.Fatalf("defaults differ from PROTOCOL.md: addr %s %+v", sf.addr, c)
	}
}

func TestServerFlagsParse(t *testing.T) {
	sf, err := parseServerFlags([]string{"-addr", "127.0.0.1:0", "-rate", "0.5", "-burst", "0",
		"-ping-interval", "1.5", "-idle-timeout", "2m", "-join-timeout", "0", "-max-frame", "1024",
		"-max-queue", "4096", "-history", "0", "-max-clients", "3"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	c := sf.cfg
	if c.Rate != 0.5 || c.Burst != 0 || c.PingInterval != 1500*time.Millisecond || c.IdleTimeout != 2*time.Minute ||
		c.JoinTimeout != 0 || c.MaxFrame != 1024 || c.MaxQueue != 4096 || c.History != 0 || c.MaxClients != 3 {
		t.Fatalf("parsed %+v", c)
	}
}

func TestServerFlagsRefused(t *testing.T) {
	for _, args := range [][]string{
		{"-history", "-1"},
		{"-max-clients", "0"},
		{"-rate", "-2"},
		{"-rate", "NaN"},
		{"-rate", "+Inf"},
		{"-burst", "x"},
		{"-ping-interval", "soon"},
		{"-idle-timeout", "-5s"},
		{"-max-frame", "0"},
		{"-max-queue", "-1"},
		{"-addr", "nonsense"},
		{"-tls-cert", "c.pem"},
		{"-log-format", "xml"},
		{"-log-level", "loud"},
		{"stray"},
		{"-nosuchflag"},
		{"-fsync", "sometimes"},
		{"-retain", "-1"},
		{"-replay-max", "0"},
		{"-replay-max", "100001"},
		{"-presence-limit", "1501"},
		{"-max-rooms", "0"},
		{"-max-per-ip", "-1"},
		{"-resume-grace", "-1s"},
		{"-line-timeout", "later"},
		{"-ip-limit-exempt", "10.0.0.0/33"},
		{"-ip-limit-exempt", "not-an-ip"},
		{"-cluster", "nats://127.0.0.1:4222", "-data", "/tmp/x"},
		{"-cluster", "http://127.0.0.1:4222"},
		{"-cluster", "nats://127.0.0.1:4222", "-cluster-node", "a.b"},
		{"-cluster", "nats://127.0.0.1:4222", "-cluster-replicas", "0"},
		{"-cluster", "nats://127.0.0.1:4222", "-cluster-tls-cert", "c.pem"},
		{"-cluster-node", "n1"},
		{"-cluster", "nats://127.0.0.1:4222", "-retain", "100"},
	} {
		var out bytes.Buffer
		if _, err := parseServerFlags(args, &out); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}

// The v2 flags of PROTOCOL §9 and their defaults.
func TestServerFlagsV2(t *testing.T) {
	sf, err := parseServerFlags(nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	c := sf.cfg
	if sf.data != "" || sf.retain != 100000 || sf.fsync != "batch" || c.ReplayMax != 1000 ||
		c.ResumeGrace != 60*time.Second || c.LineTimeout != 30*time.Second || c.MaxRooms != 100 ||
		c.PresenceLimit != 1000 || c.MaxPerIP != 64 || c.InsecureAuth || len(c.IPLimitExempt) != 2 {
		t.Fatalf("v2 defaults: %+v", sf)
	}
	sf, err = parseServerFlags([]string{"-data", "/tmp/x", "-retain", "0", "-fsync", "always", "-replay-max", "5",
		"-resume-grace", "0", "-line-timeout", "5", "-max-rooms", "3", "-presence-limit", "0", "-max-per-ip", "0",
		"-ip-limit-exempt", "127.0.0.2, 10.0.0.0/8,::ffff:127.0.0.3", "-insecure-auth"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	c = sf.cfg
	if sf.data != "/tmp/x" || sf.retain != 0 || sf.fsync != "always" || c.ReplayMax != 5 || c.ResumeGrace != 0 ||
		c.LineTimeout != 5*time.Second || c.MaxRooms != 3 || c.PresenceLimit != 0 || c.MaxPerIP != 0 || !c.InsecureAuth ||
		fmt.Sprint(c.IPLimitExempt) != "[127.0.0.2/32 10.0.0.0/8 127.0.0.3/32]" {
		t.Fatalf("parsed %+v %v", sf, c.IPLimitExempt)
	}
}

func TestServerHelpExplainsEveryFlag(t *testing.T) {
	var out bytes.Buffer
	_, err := parseServerFlags([]string{"-h"}, &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	for _, f := range []string{"-addr", "-history", "-max-clients", "-rate", "-burst", "-ping-interval",
		"-idle-timeout", "-join-timeout", "-max-frame", "-max-queue", "-tls-cert", "-tls-key",
		"-data", "-retain", "-replay-max", "-fsync", "-resume-grace", "-line-timeout", "-max-rooms",
		"-presence-limit", "-max-per-ip", "-ip-limit-exempt", "-insecure-auth", "-metrics-public", "-pprof"} {
		if !strings.Contains(out.String(), "  "+f) {
			t.Errorf("-h does not explain %s:\n%s", f, out.String())
		}
	}
}

// buildPynet builds the binary once per test binary run.
func buildPynet(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "pynet")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// The real binary: exit status 2 on a bad flag; "listening on" on stderr;
// SIGTERM → bye shutdown to a client, listener closed, exit 0.
func TestServerProcessLifecycle(t *testing.T) {
	bin := buildPynet(t)
	if err := exec.Command(bin, "server", "-rate", "fast").Run(); err == nil {
		t.Fatal("a bad flag was accepted")
	} else if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
		t.Fatalf("bad flag: %v, want exit status 2", err)
	}

	cmd := exec.Command(bin, "server", "-addr", "127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	addrCh := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`listening on (\S+:\d+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addrCh <- m[1]
			}
		}
	}()
	var addr string
	select {
	case addr = <-addrCh:
	case <-time.After(10 * time.Second):
		t.Fatal("no 'listening on' line")
	}
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	nc.Write([]byte(`{"type":"join","username":"a"}` + "\n"))
	r := bufio.NewReader(nc)
	if line, _ := r.ReadString('\n'); !strings.Contains(line, `"welcome"`) {
		t.Fatalf("got %q", line)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if line, _ := r.ReadString('\n'); !strings.Contains(line, `{"type":"bye","reason":"shutdown"}`) {
		t.Fatalf("after SIGTERM got %q", line)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit: %v, want status 0", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the server did not exit within 5 s of SIGTERM")
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Fatal("still accepting after exit")
	}
}

// The readiness line is printed whatever the log level: scripts wait for it.
func TestListeningLineAtEveryLogLevel(t *testing.T) {
	bin := buildPynet(t)
	for _, level := range []string{"debug", "warn", "error"} {
		cmd := exec.Command(bin, "server", "-addr", "127.0.0.1:0", "-log-level", level)
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, _ := bufio.NewReader(stderr).ReadString('\n')
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		if !regexp.MustCompile(`listening on \S+:\d+`).MatchString(line) {
			t.Errorf("-log-level %s: first line %q", level, line)
		}
	}
}
