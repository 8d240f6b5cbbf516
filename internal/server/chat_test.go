package server_test

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"

	"pynet/internal/server"
	"pynet/protocol"
)

var tsPattern = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

func TestExampleSessionFromSection8(t *testing.T) {
	ts := startServer(t, nil)
	bob := ts.join(t, "bob")
	bob.send(`{"type":"message","text":"anyone here?","ref":"b0"}`)
	bob.expect("ack") // in history before alice joins

	alice := ts.dial(t)
	alice.name = "alice"
	alice.send(`{"type":"join","username":"alice"}`)
	line, err := alice.nextRaw()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"welcome","username":"alice","users":["alice","bob"],"protocol":1,"server":"pynet/2.0.0","limits":{"max_frame":65536,"max_text":4096,"rate":0,"burst":0},"account":false}`
	if string(line) != want {
		t.Fatalf("welcome\n got %s\nwant %s", line, want)
	}
	h := alice.expect("message")
	if !h.History || h.From != "bob" || h.Text != "anyone here?" || h.ID != 1 {
		t.Fatalf("history replay: %+v", h)
	}
	bob.expect("joined")

	alice.send(`{"type":"message","text":"hi bob","ref":"a1"}`)
	ack := alice.expect("ack")
	if ack.Ref != "a1" || ack.ID != 2 || !tsPattern.MatchString(ack.TS) {
		t.Fatalf("ack: %+v", ack)
	}
	m := bob.expect("message")
	if m.ID != 2 || m.From != "alice" || m.Text != "hi bob" || m.TS != ack.TS || m.History {
		t.Fatalf("bob got %+v", m)
	}
	bob.send(`{"type":"private","to":"alice","text":"welcome!"}`)
	p := alice.expect("private")
	if p.ID != 3 || p.From != "bob" || p.To != "alice" || p.Text != "welcome!" {
		t.Fatalf("private: %+v", p)
	}
	alice.send(`{"type":"nick","username":"bob"}`)
	e := alice.expectError(protocol.CodeUsernameTaken)
	if e.Message == "" {
		t.Fatal("error without a message")
	}
	alice.send(`{"type":"leave"}`)
	if f := alice.expect("bye"); f.Reason != "quit" {
		t.Fatalf("bye: %+v", f)
	}
	alice.expectClosed()
	if l := bob.expect("left"); l.Username != "alice" || l.Reason != "quit" || !tsPattern.MatchString(l.TS) {
		t.Fatalf("left: %+v", l)
	}
}

func TestBroadcastReachesEveryOtherMemberNotSender(t *testing.T) {
	ts := startServer(t, nil)
	a, b, c := ts.join(t, "a"), ts.join(t, "b"), ts.join(t, "c")
	a.expect("joined")
	a.expect("joined")
	b.expect("joined")
	a.send(`{"type":"message","text":"  hello\tworld\n  "}`) // trimmed, inner TAB kept
	for _, r := range []*client{b, c} {
		if m := r.expect("message"); m.Text != "hello\tworld" || m.From != "a" {
			t.Fatalf("%s got %+v", r.name, m)
		}
	}
	a.sync() // no copy of its own message, no ack without ref
}

func TestMultiLineAndUnicodeTextForwardedUnchanged(t *testing.T) {
	ts := startServer(t, nil)
	a, b := ts.join(t, "a"), ts.join(t, "b")
	a.expect("joined")
	text := "line one\nline two: <b>&amp;</b> \"quoted\" \\ é 世界 🎉 \u2028 end"
	a.send(`{"type":"message","text":%q}`, text)
	line, err := b.nextRaw()
	if err != nil {
		t.Fatal(err)
	}
	if m := mustJSON(t, line); m["text"] != text {
		t.Fatalf("text = %q, want %q", m["text"], text)
	}
	if strings.Contains(string(line), `\u003c`) {
		t.Errorf("frame HTML-escapes '<': %s", line)
	}
}

func TestMessageTextErrors(t *testing.T) {
	ts := startServer(t, nil)
	a := ts.join(t, "a")
	for _, tc := range []struct{ frame, code string }{
		{`{"type":"message"}`, protocol.CodeEmptyMessage},
		{`{"type":"message","text":null}`, protocol.CodeEmptyMessage},
		{`{"type":"message","text":" \n\t "}`, protocol.CodeEmptyMessage},
		{`{"type":"message","text":"` + strings.Repeat("x", 4097) + `"}`, protocol.CodeTextTooLong},
		{`{"type":"message","text":"bell\u0007"}`, protocol.CodeInvalidText},
		{`{"type":"message","text":"esc\u001b[2J"}`, protocol.CodeInvalidText},
		{`{"type":"message","text":"del\u007f"}`, protocol.CodeInvalidText},
		{`{"type":"message","text":"c1\u009b"}`, protocol.CodeInvalidText},
		{`{"type":"message","text":5}`, protocol.CodeBadFrame},
		{`{"type":"private","to":"a","text":""}`, protocol.CodeEmptyMessage},
		{`{"type":"private","to":"nobody","text":"hi"}`, protocol.CodeNoSuchUser},
		{`{"type":"private","text":"hi"}`, protocol.CodeNoSuchUser},
		{`{"type":"private","to":"nobody","text":""}`, protocol.CodeEmptyMessage}, // text before to
	} {
		t.Run(tc.code, func(t *testing.T) {
			a.t = t
			a.write(tc.frame[:len(tc.frame)-1] + `,"ref":"r"}` + "\n")
			if e := a.expectError(tc.code); e.Ref != "r" {
				t.Fatalf("%s: error without the ref: %+v", tc.frame, e)
			}
		})
	}
	a.t = t
	// 4096 bytes after trimming is fine.
	a.send(`{"type":"message","text":"  %s  ","ref":"ok"}`, strings.Repeat("é", 2048))
	a.expect("ack")
}

func TestPrivateMessages(t *testing.T) {
	ts := startServer(t, nil)
	alice, bob, carol := ts.join(t, "Alice"), ts.join(t, "bob"), ts.join(t, "carol")
	alice.expect("joined")
	alice.expect("joined")
	bob.expect("joined")

	bob.send(`{"type":"private","to":"ALICE","text":"psst","ref":"p1"}`)
	ack := bob.expect("ack")
	p := alice.expect("private")
	if p.To != "Alice" || p.From != "bob" || p.Text != "psst" || p.ID != ack.ID || ack.Ref != "p1" {
		t.Fatalf("private %+v, ack %+v", p, ack)
	}
	carol.sync() // nobody else sees it

	// To oneself: delivered like any other, ack too.
	alice.send(`{"type":"private","to":"alice","text":"note to self","ref":"s"}`)
	first, second := alice.next(), alice.next()
	if first.Type != "private" || second.Type != "ack" || first.To != "Alice" || first.ID != second.ID {
		t.Fatalf("private to self: %+v then %+v", first, second)
	}
	// Ids are one sequence for public and private messages.
	carol.send(`{"type":"message","text":"public","ref":"m"}`)
	if a := carol.expect("ack"); a.ID != first.ID+1 {
		t.Fatalf("public id %d after private id %d", a.ID, first.ID)
	}
}

func TestRename(t *testing.T) {
	ts := startServer(t, nil)
	a, b := ts.join(t, "alice"), ts.join(t, "bob")
	a.expect("joined")

	a.send(`{"type":"nick","username":"Alicia","ref":"n1"}`)
	mine, theirs := a.expect("renamed"), b.expect("renamed")
	if mine.From != "alice" || mine.To != "Alicia" || mine.Ref != "n1" || theirs.Ref != "" || theirs.To != "Alicia" {
		t.Fatalf("renamed: mine %+v, theirs %+v", mine, theirs)
	}
	// The old name is free at once; the new one is taken case-insensitively.
	c := ts.join(t, "ALICE")
	a.expect("joined")
	b.expect("joined")
	b.send(`{"type":"nick","username":"alicia"}`)
	b.expectError(protocol.CodeUsernameTaken)
	// Changing only the case of one's own name is allowed and announced.
	a.send(`{"type":"nick","username":"ALICIA"}`)
	for _, r := range []*client{a, b, c} {
		if f := r.expect("renamed"); f.From != "Alicia" || f.To != "ALICIA" {
			t.Fatalf("%s: case change: %+v", r.name, f)
		}
	}
	// The exact same name: renamed to the sender alone.
	a.send(`{"type":"nick","username":"ALICIA","ref":"same"}`)
	if r := a.expect("renamed"); r.From != "ALICIA" || r.To != "ALICIA" || r.Ref != "same" {
		t.Fatalf("same name: %+v", r)
	}
	b.sync()
	c.sync()
	a.send(`{"type":"nick","username":"-bad"}`)
	a.expectError(protocol.CodeInvalidUsername)
	a.send(`{"type":"nick"}`)
	a.expectError(protocol.CodeInvalidUsername)
	// Messages carry the new name.
	a.send(`{"type":"message","text":"hi"}`)
	if m := b.expect("message"); m.From != "ALICIA" {
		t.Fatalf("from = %q", m.From)
	}
}

func TestUsersSortedCaseInsensitively(t *testing.T) {
	ts := startServer(t, nil)
	names := []string{"bob", "Alice", "_x", "carol", "B.c", "a-b", "0day", "Zed"}
	var cs []*client
	for _, n := range names {
		if n == "_x" {
			continue // invalid: must start with a letter or digit
		}
		cs = append(cs, ts.join(t, n))
	}
	cs[0].send(`{"type":"users","ref":"u"}`)
	var u protocol.ServerFrame
	for u = cs[0].next(); u.Type != "users"; u = cs[0].next() {
	}
	want := []string{"0day", "a-b", "Alice", "B.c", "bob", "carol", "Zed"}
	if fmt.Sprint(u.Users) != fmt.Sprint(want) || u.Ref != "u" {
		t.Fatalf("users = %v (ref %q), want %v", u.Users, u.Ref, want)
	}
}

func TestHistoryReplayAndLimit(t *testing.T) {
	ts := startServer(t, func(c *server.Config) { c.History = 3 })
	a := ts.join(t, "a")
	for i := 1; i <= 5; i++ {
		a.send(`{"type":"message","text":"m%d"}`, i)
	}
	a.send(`{"type":"private","to":"a","text":"secret"}`) // never kept
	a.expect("private")
	b := ts.dial(t)
	b.name = "b"
	b.send(`{"type":"join","username":"b"}`)
	b.expect("welcome")
	for i := 3; i <= 5; i++ {
		m := b.expect("message")
		if !m.History || m.Text != fmt.Sprintf("m%d", i) || m.ID != int64(i) {
			t.Fatalf("replay %d: %+v", i, m)
		}
	}
	b.sync()
}

func TestHistoryOff(t *testing.T) {
	ts := startServer(t, func(c *server.Config) { c.History = 0 })
	a := ts.join(t, "a")
	a.send(`{"type":"message","text":"m"}`)
	b := ts.join(t, "b")
	b.sync()
}

// Every receiver sees the public messages of concurrent senders in the same
// order, the order of their ids, with none missing.
func TestConcurrentSendersOneOrder(t *testing.T) {
	const senders, receivers, perSender = 4, 3, 300
	ts := startServer(t, func(c *server.Config) { c.MaxQueue = 8 << 20 })
	var rs []*client
	for i := 0; i < receivers; i++ {
		rs = append(rs, ts.join(t, fmt.Sprintf("r%d", i)))
	}
	var ss []*client
	for i := 0; i < senders; i++ {
		ss = append(ss, ts.join(t, fmt.Sprintf("s%d", i)))
	}
	var wg sync.WaitGroup
	for i, s := range ss {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var b strings.Builder
			for n := 0; n < perSender; n++ {
				fmt.Fprintf(&b, `{"type":"message","text":"s%d-%d"}`+"\n", i, n)
			}
			s.nc.Write([]byte(b.String()))
		}()
	}
	wg.Wait()
	var first []string
	for i, r := range rs {
		var got []string
		next := map[string]int{}
		lastID := int64(0)
		for len(got) < senders*perSender {
			f := r.next()
			if f.Type != "message" {
				continue // joined frames of later members
			}
			if f.ID <= lastID {
				t.Fatalf("%s: id %d after %d", r.name, f.ID, lastID)
			}
			lastID = f.ID
			var s, n int
			fmt.Sscanf(f.Text, "s%d-%d", &s, &n)
			if want := next[f.From]; n != want {
				t.Fatalf("%s: from %s got #%d, want #%d (a sender's own order broken)", r.name, f.From, n, want)
			}
			next[f.From]++
			got = append(got, f.Text)
		}
		if i == 0 {
			first = got
		} else if fmt.Sprint(got) != fmt.Sprint(first) {
			t.Fatalf("%s saw a different order than %s", r.name, rs[0].name)
		}
	}
}

// A joiner arriving during heavy traffic gets history then live messages
// with no id missing and none twice.
func TestJoinDuringTrafficNoGapNoDuplicate(t *testing.T) {
	const senders, perSender = 3, 400
	ts := startServer(t, func(c *server.Config) { c.History = 50; c.MaxQueue = 8 << 20 })
	var ss []*client
	for i := 0; i < senders; i++ {
		ss = append(ss, ts.join(t, fmt.Sprintf("s%d", i)))
	}
	var wg sync.WaitGroup
	started := make(chan struct{}, senders)
	for i, s := range ss {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < perSender; n++ {
				s.nc.Write([]byte(fmt.Sprintf(`{"type":"message","text":"%d-%d"}`+"\n", i, n)))
				if n == perSender/4 {
					started <- struct{}{}
				}
			}
		}()
	}
	for i := 0; i < senders; i++ {
		<-started
	}
	j := ts.dial(t)
	j.name = "joiner"
	j.send(`{"type":"join","username":"joiner"}`)
	j.expect("welcome")
	wg.Wait()
	// The last sender's final message tells us the highest id.
	seen := map[int64]bool{}
	var ids []int64
	var firstLive int64
	histDone := false
	for len(ids) == 0 || ids[len(ids)-1] < senders*perSender {
		f := j.next()
		if f.Type != "message" {
			continue
		}
		if f.History && histDone {
			t.Fatalf("history frame %d after live traffic", f.ID)
		}
		if !f.History && !histDone {
			histDone, firstLive = true, f.ID
		}
		if seen[f.ID] {
			t.Fatalf("id %d twice", f.ID)
		}
		seen[f.ID] = true
		if len(ids) > 0 && f.ID != ids[len(ids)-1]+1 {
			t.Fatalf("gap: id %d after %d (first live id %d)", f.ID, ids[len(ids)-1], firstLive)
		}
		ids = append(ids, f.ID)
	}
	if firstLive == 0 || firstLive == ids[0] {
		t.Logf("joined at the edge of traffic (first id %d, first live %d)", ids[0], firstLive)
	}
}
