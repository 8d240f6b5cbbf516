package main

// End-to-end tests of the operations features, on the real binary: `pynet
// cert`, `pynet server` with -metrics, -trace and TLS, and the Python example
// client against a running server. Helpers are prefixed ops.

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"pynet/internal/certgen"
)

// opsWait bounds every wait for something that must happen.
const opsWait = 10 * time.Second

func TestOps(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "pynet")
	build := exec.Command("go", "build", "-o", bin, "./cmd/pynet")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Run("cert", func(t *testing.T) { testOpsCert(t, bin) })
	t.Run("server", func(t *testing.T) { testOpsServer(t, bin) })
	t.Run("python", func(t *testing.T) { testOpsPython(t, bin) })
}

// opsLog is an io.Writer that collects a process's output line by line and
// lets a test wait for a line that matches.
type opsLog struct {
	mu      sync.Mutex
	partial []byte
	lines   []string
	note    chan struct{} // capacity 1: something arrived
}

func newOpsLog() *opsLog { return &opsLog{note: make(chan struct{}, 1)} }

func (l *opsLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.partial = append(l.partial, p...)
	for {
		i := strings.IndexByte(string(l.partial), '\n')
		if i < 0 {
			break
		}
		l.lines = append(l.lines, string(l.partial[:i]))
		l.partial = l.partial[i+1:]
	}
	l.mu.Unlock()
	select {
	case l.note <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (l *opsLog) snapshot() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

func (l *opsLog) String() string { return strings.Join(l.snapshot(), "\n") }

// waitFor waits for a line matching re and returns its submatches.
func (l *opsLog) waitFor(t *testing.T, what string, re *regexp.Regexp) []string {
	t.Helper()
	timeout := time.NewTimer(opsWait)
	defer timeout.Stop()
	for {
		for _, line := range l.snapshot() {
			if m := re.FindStringSubmatch(line); m != nil {
				return m
			}
		}
		select {
		case <-l.note:
		case <-timeout.C:
			t.Fatalf("%s: no line matching %s within %v; output:\n%s", what, re, opsWait, l)
		}
	}
}

// opsProc is a child process whose output is collected.
type opsProc struct {
	cmd      *exec.Cmd
	stdout   *opsLog
	stderr   *opsLog
	exited   chan struct{}
	waitErr  error
	stopOnce sync.Once
}

func startOpsProc(t *testing.T, stdin io.Reader, name string, args ...string) *opsProc {
	t.Helper()
	return startOpsProcIn(t, "", stdin, name, args...)
}

// startOpsProcIn starts a process in directory dir ("": the current one).
func startOpsProcIn(t *testing.T, dir string, stdin io.Reader, name string, args ...string) *opsProc {
	t.Helper()
	p := &opsProc{cmd: exec.Command(name, args...), stdout: newOpsLog(), stderr: newOpsLog(), exited: make(chan struct{})}
	p.cmd.Dir = dir
	p.cmd.Stdin, p.cmd.Stdout, p.cmd.Stderr = stdin, p.stdout, p.stderr
	p.cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1")
	p.cmd.WaitDelay = time.Second
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { p.waitErr = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.exited
		if t.Failed() {
			t.Logf("%s %s\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), p.stdout, p.stderr)
		}
	})
	return p
}

// wait waits for the process to exit and returns its exit status.
func (p *opsProc) wait(t *testing.T, what string) int {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(opsWait):
		t.Fatalf("%s did not exit within %v", what, opsWait)
	}
	var ee *exec.ExitError
	if errors.As(p.waitErr, &ee) {
		return ee.ExitCode()
	}
	if p.waitErr != nil {
		t.Fatalf("%s: %v", what, p.waitErr)
	}
	return 0
}

// runOps runs the binary to completion and returns its exit status and output.
func runOps(t *testing.T, bin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	p := startOpsProc(t, nil, bin, args...)
	code = p.wait(t, "pynet "+strings.Join(args, " "))
	return code, p.stdout.String(), p.stderr.String()
}

var (
	opsListening = regexp.MustCompile(`listening on ([0-9.]+:\d+)`)
	opsMetricsOn = regexp.MustCompile(`metrics on (http://[0-9.]+:\d+/metrics)`)
)

// startOpsServer starts `pynet server` on a free port and waits until it
// accepts connections; it is interrupted at the end of the test.
func startOpsServer(t *testing.T, bin string, args ...string) (*opsProc, string) {
	t.Helper()
	p := startOpsProc(t, nil, bin, append([]string{"server", "-addr", "127.0.0.1:0"}, args...)...)
	addr := p.stderr.waitFor(t, "pynet server", opsListening)[1]
	t.Cleanup(func() { p.interrupt(t) })
	return p, addr
}

// interrupt sends SIGINT once and waits for exit status 0.
func (p *opsProc) interrupt(t *testing.T) {
	t.Helper()
	p.stopOnce.Do(func() {
		p.cmd.Process.Signal(os.Interrupt)
		if code := p.wait(t, "pynet server"); code != 0 {
			t.Errorf("pynet server exited with status %d after SIGINT, want 0", code)
		}
	})
}

// opsClient speaks the protocol over TCP or TLS.
type opsClient struct {
	t    *testing.T
	name string
	nc   net.Conn
	rd   *bufio.Reader
}

func dialOps(t *testing.T, addr, name string, tlsCfg *tls.Config) *opsClient {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, opsWait)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if tlsCfg != nil {
		tc := tls.Client(nc, tlsCfg)
		tc.SetDeadline(time.Now().Add(opsWait))
		if err := tc.Handshake(); err != nil {
			nc.Close()
			t.Fatalf("%s: TLS handshake: %v", name, err)
		}
		nc = tc
	}
	t.Cleanup(func() { nc.Close() })
	return &opsClient{t: t, name: name, nc: nc, rd: bufio.NewReader(nc)}
}

func (c *opsClient) send(frame string) {
	c.t.Helper()
	c.nc.SetWriteDeadline(time.Now().Add(opsWait))
	if _, err := io.WriteString(c.nc, frame+"\n"); err != nil {
		c.t.Fatalf("%s: write: %v", c.name, err)
	}
}

// expect reads the next frame and checks its type and string members.
func (c *opsClient) expect(typ string, members ...string) map[string]any {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(opsWait))
	line, err := c.rd.ReadBytes('\n')
	if err != nil {
		c.t.Fatalf("%s: waiting for %s: %v (got %q)", c.name, typ, err, line)
	}
	var f map[string]any
	if err := json.Unmarshal(line, &f); err != nil {
		c.t.Fatalf("%s: bad frame %q", c.name, line)
	}
	ok := f["type"] == typ
	for i := 0; ok && i+1 < len(members); i += 2 {
		ok = f[members[i]] == members[i+1]
	}
	if !ok {
		c.t.Fatalf("%s: got %s, want %s %q", c.name, strings.TrimSpace(string(line)), typ, members)
	}
	return f
}

func (c *opsClient) join() map[string]any {
	c.t.Helper()
	c.send(`{"type":"join","username":"` + c.name + `"}`)
	return c.expect("welcome", "username", c.name)
}

// opsCert writes a certificate for 127.0.0.1 to a temporary directory.
func opsCert(t *testing.T) (certPath, keyPath string, clientCfg *tls.Config) {
	t.Helper()
	pair, err := certgen.Generate([]string{"127.0.0.1"}, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath, err = pair.WriteFiles(t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	return certPath, keyPath, &tls.Config{RootCAs: pair.CertPool(), ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

func testOpsCert(t *testing.T, bin string) {
	dir := filepath.Join(t.TempDir(), "certs")
	code, out, errOut := runOps(t, bin, "cert", "-host", "localhost,127.0.0.1", "-out", dir, "-days", "30")
	if code != 0 {
		t.Fatalf("pynet cert: status %d\n%s%s", code, out, errOut)
	}
	certPath, keyPath := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if !strings.Contains(out, certPath) || !strings.Contains(out, "-tls-cert "+certPath) {
		t.Errorf("output does not say where the files are and how to use them:\n%s", out)
	}
	if fi, err := os.Stat(keyPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key.pem: %v, %v; want mode 0600", fi, err)
	}
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(certPEM)
	if block == nil {
		t.Fatalf("cert.pem holds no PEM block:\n%s", certPEM)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if len(cert.DNSNames) != 1 || cert.DNSNames[0] != "localhost" || len(cert.IPAddresses) != 1 || cert.IPAddresses[0].String() != "127.0.0.1" {
		t.Errorf("SANs: DNS %v, IP %v; want localhost and 127.0.0.1", cert.DNSNames, cert.IPAddresses)
	}
	if d := time.Until(cert.NotAfter); d < 29*24*time.Hour || d > 31*24*time.Hour {
		t.Errorf("valid until %v, want in 30 days", cert.NotAfter)
	}
	if _, err := tls.LoadX509KeyPair(certPath, keyPath); err != nil {
		t.Errorf("cert.pem and key.pem do not load as a pair: %v", err)
	}

	// Refuses to overwrite, and leaves the files alone.
	code, _, errOut = runOps(t, bin, "cert", "-out", dir)
	if code != 1 || !strings.Contains(errOut, "already exists") {
		t.Errorf("second pynet cert: status %d, %q; want 1 and 'already exists'", code, errOut)
	}
	if b, _ := os.ReadFile(certPath); string(b) != string(certPEM) {
		t.Errorf("cert.pem changed although -force was not given")
	}
	code, _, errOut = runOps(t, bin, "cert", "-out", dir, "-force")
	if b, _ := os.ReadFile(certPath); code != 0 || string(b) == string(certPEM) {
		t.Errorf("pynet cert -force: status %d, %q; want 0 and a new cert.pem", code, errOut)
	}
	for _, args := range [][]string{{"-host", "not a host"}, {"-days", "0"}, {"stray"}} {
		if code, _, _ := runOps(t, bin, append([]string{"cert", "-out", dir}, args...)...); code != 2 {
			t.Errorf("pynet cert %v: status %d, want 2", args, code)
		}
	}
}

// testOpsServer runs the server with TLS, -metrics and -trace at once.
func testOpsServer(t *testing.T, bin string) {
	certPath, keyPath, clientCfg := opsCert(t)
	srv, addr := startOpsServer(t, bin, "-rate", "0", "-trace", "-metrics", "127.0.0.1:0",
		"-tls-cert", certPath, "-tls-key", keyPath)
	metricsURL := srv.stderr.waitFor(t, "pynet server", opsMetricsOn)[1]

	alice := dialOps(t, addr, "alice", clientCfg)
	alice.join()
	bob := dialOps(t, addr, "bob", clientCfg)
	bob.join()
	alice.expect("joined", "username", "bob")
	alice.send(`{"type":"message","text":"hi bob","ref":"a1"}`)
	alice.expect("ack", "ref", "a1")
	bob.expect("message", "from", "alice", "text", "hi bob")
	bob.send(`{"type":"nick","username":"alice"}`)
	bob.expect("error", "code", "username_taken")

	// A plain-text client on the TLS port gets nothing and is closed.
	plain, err := net.DialTimeout("tcp", addr, opsWait)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	plain.SetDeadline(time.Now().Add(opsWait))
	io.WriteString(plain, `{"type":"join","username":"plain"}`+"\n")
	got, err := io.ReadAll(plain)
	if errors.Is(err, os.ErrDeadlineExceeded) || strings.Contains(string(got), `"type"`) {
		t.Errorf("plain-text client on the TLS port: read %q, %v; want the connection closed without a frame", got, err)
	}
	alice.send(`{"type":"ping","ref":"still-up"}`)
	alice.expect("pong", "ref", "still-up")

	// /metrics shows the traffic.
	resp, err := (&http.Client{Timeout: opsWait}).Get(metricsURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		"# TYPE pynet_messages_broadcast_total counter",
		"pynet_connections_accepted_total 3",
		"pynet_users_joined 2",
		`pynet_frames_received_total{type="join"} 2`,
		`pynet_frames_received_total{type="message"} 1`,
		`pynet_frames_received_total{type="ping"} 1`,
		`pynet_frames_sent_total{type="ack"} 1`,
		"pynet_messages_broadcast_total 1",
		"pynet_deliveries_total 1",
		`pynet_errors_total{code="username_taken"} 1`,
		`pynet_disconnects_total{reason="disconnect"} 1`, // the plain-text client
		"pynet_rate_limited_total 0",
	} {
		if !strings.Contains(string(body), "\n"+want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if t.Failed() {
		t.Fatalf("/metrics:\n%s", body)
	}

	// -trace shows reads, the frames cut from them and writes.
	srv.stderr.waitFor(t, "trace", regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d{3} conn \d+ read +\d+ bytes  "\{\\"type\\":\\"join\\",\\"username\\":\\"alice\\"\}\\n"$`))
	srv.stderr.waitFor(t, "trace", regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d{3} conn \d+   frame +34 bytes  "\{\\"type\\":\\"join\\",\\"username\\":\\"alice\\"\}"$`))
	srv.stderr.waitFor(t, "trace", regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d{3} conn \d+ write +\d+ bytes  \d+ frame\(s\)$`))

	// SIGINT: bye shutdown to everyone, exit 0, metrics gone too.
	srv.interrupt(t)
	alice.expect("bye", "reason", "shutdown")
	bob.expect("bye", "reason", "shutdown")
	if resp, err := (&http.Client{Timeout: opsWait, Transport: &http.Transport{}}).Get(metricsURL); err == nil {
		resp.Body.Close()
		t.Errorf("the metrics server still answers after the server exited")
	}
}

// testOpsPython has the example Python client and a Go client exchange
// messages through a real server, in plain text and over TLS.
func testOpsPython(t *testing.T, bin string) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skipf("python3 not found: %v", err)
	}
	dir, err := filepath.Abs(filepath.Join("..", "..", "examples", "python"))
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "pynet_client.py")

	// The client's own unit tests (neutralising, framing, rendering).
	unit := startOpsProcIn(t, dir, nil, python, "-m", "unittest", "-q", "test_pynet_client")
	if code := unit.wait(t, "python3 -m unittest"); code != 0 {
		t.Errorf("python3 -m unittest test_pynet_client: status %d\n%s\n%s", code, unit.stdout, unit.stderr)
	}

	code, out, errOut := runOps(t, python, script, "-h")
	for _, flag := range []string{"--host", "--port", "--name"} {
		if code != 0 || !strings.Contains(out, flag) {
			t.Errorf("pynet_client.py -h: status %d, no %s in:\n%s%s", code, flag, out, errOut)
		}
	}

	for _, useTLS := range []bool{false, true} {
		name := map[bool]string{false: "plain", true: "tls"}[useTLS]
		t.Run(name, func(t *testing.T) {
			var srvArgs, pyTLS []string
			var clientCfg *tls.Config
			if useTLS {
				certPath, keyPath, cfg := opsCert(t)
				srvArgs = []string{"-tls-cert", certPath, "-tls-key", keyPath}
				pyTLS = []string{"--tls", "--tls-ca", certPath}
				clientCfg = cfg
			}
			_, addr := startOpsServer(t, bin, srvArgs...)
			host, port, _ := net.SplitHostPort(addr)

			gopher := dialOps(t, addr, "gopher", clientCfg)
			gopher.join()

			stdinR, stdinW := io.Pipe()
			defer stdinW.Close()
			py := startOpsProc(t, stdinR, python, append([]string{script, "--host", host, "--port", port, "--name", "pyuser"}, pyTLS...)...)
			py.stdout.waitFor(t, "python client", regexp.MustCompile(`^\* joined as pyuser; online: gopher, pyuser$`))
			gopher.expect("joined", "username", "pyuser")

			io.WriteString(stdinW, "hello from python\n")
			gopher.expect("message", "from", "pyuser", "text", "hello from python")
			gopher.send(`{"type":"message","text":"hello from go ✓"}`)
			py.stdout.waitFor(t, "python client", regexp.MustCompile(`^\[\d\d:\d\d:\d\d\] <gopher> hello from go ✓$`))
			gopher.send(`{"type":"private","to":"PyUser","text":"just for you"}`)
			py.stdout.waitFor(t, "python client", regexp.MustCompile(`^\[\d\d:\d\d:\d\d\] \*gopher -> pyuser\* just for you$`))

			// End of input leaves politely.
			stdinW.Close()
			gopher.expect("left", "username", "pyuser", "reason", "quit")
			if code := py.wait(t, "python client"); code != 0 {
				t.Errorf("python client exited with status %d after EOF, want 0", code)
			}
			py.stdout.waitFor(t, "python client", regexp.MustCompile(`^\* the server closed the connection \(quit\)$`))
		})
	}
}
