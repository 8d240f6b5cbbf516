package client

import (
	"context"
	"strings"
	"sync"
	"testing"

	"pynet/protocol"
)

// With Config.Trace the client reports its writes, its reads and the frames
// it cuts from them (pynet client -trace).
func TestClientTrace(t *testing.T) {
	ts := startServer(t, "", nil)
	var mu sync.Mutex
	var lines []string
	cfg := testConfig(ts.addr)
	cfg.Trace = func(l string) {
		mu.Lock()
		lines = append(lines, l)
		mu.Unlock()
	}
	s, err := Join(context.Background(), cfg, "tracer")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	expect(t, s, "welcome", isType(protocol.MsgWelcome))
	s.Send(messageFrame("t1", "traced"))
	expect(t, s, "ack", isType(protocol.MsgAck))

	mu.Lock()
	all := strings.Join(lines, "\n")
	mu.Unlock()
	for _, want := range []string{
		`client write    49 bytes  1 frame(s)`, // {"type":"join","username":"tracer","protocol":2}\n
		`client read `,
		`client   frame `,
		`"{\"type\":\"welcome\"`,
		`{\"type\":\"ack\",\"ref\":\"t1\"`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("trace lacks %q:\n%s", want, all)
		}
	}
}
