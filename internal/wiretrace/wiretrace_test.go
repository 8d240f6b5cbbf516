package wiretrace

import (
	"errors"
	"io"
	"net"
	"strings"
	"testing"
)

func collect() (*[]string, func(string)) {
	var lines []string
	return &lines, func(l string) { lines = append(lines, l) }
}

func TestTraceLines(t *testing.T) {
	lines, out := collect()
	tr := New(out, "conn 7")
	tr.Read([]byte(`{"type":"pi`), nil)
	tr.Frame([]byte(`{"type":"ping"}`))
	tr.Write([]byte("{}\n{}\n{}\npartial"), 9, nil)
	tr.Read(nil, io.EOF)
	tr.Read(nil, errors.New("boom"))
	tr.Note("frame too large: discarded up to its LF")
	want := []string{
		`conn 7 read     11 bytes  "{\"type\":\"pi"`,
		`conn 7   frame    15 bytes  "{\"type\":\"ping\"}"`,
		`conn 7 write     9 bytes  3 frame(s)`, // only the bytes written count
		`conn 7 read  EOF`,
		`conn 7 read  failed  (boom)`,
		`conn 7   frame too large: discarded up to its LF`,
	}
	if len(*lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(*lines), len(want), strings.Join(*lines, "\n"))
	}
	for i, l := range *lines {
		// Each line starts with a clock: HH:MM:SS.mmm and a space.
		if len(l) < 13 || l[2] != ':' || l[8] != '.' || l[12] != ' ' || l[13:] != want[i] {
			t.Errorf("line %d = %q, want clock + %q", i, l, want[i])
		}
	}
}

func TestShortenCutsLongPayloads(t *testing.T) {
	long := strings.Repeat("x", 100)
	got := Shorten([]byte(long))
	if !strings.HasSuffix(got, "… (+28)") || strings.Count(got, "x") != payloadMax {
		t.Fatalf("Shorten = %q", got)
	}
	if got := Shorten([]byte("a\nb")); got != `"a\nb"` {
		t.Fatalf("Shorten = %q", got)
	}
}

// Conn reports both directions of a real connection.
func TestConnReportsReadsAndWrites(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	lines, out := collect()
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64)
		n, _ := b.Read(buf)
		b.Write(buf[:n])
	}()
	tc := Conn(a, New(out, "client"))
	tc.Write([]byte("{\"type\":\"ping\"}\n"))
	buf := make([]byte, 64)
	tc.Read(buf)
	<-done
	all := strings.Join(*lines, "\n")
	if !strings.Contains(all, "client write    16 bytes  1 frame(s)") || !strings.Contains(all, "client read     16 bytes") {
		t.Fatalf("trace:\n%s", all)
	}
}

func TestSecretsAreMaskedEvenWhenSplitAcrossReads(t *testing.T) {
	lines, out := collect()
	tr := New(out, "c")
	stream := `{"type":"join","username":"new","password":"hunter2\"x","session":"tok123"}` + "\n" +
		`{"type":"password","old":"oldpw","new":"newpw"}` + "\n" + `{"type":"message","text":"password"}` + "\n"
	for i := 0; i < len(stream); i += 7 { // every split point on the way
		tr.Read([]byte(stream[i:min(i+7, len(stream))]), nil)
	}
	tr.Frame([]byte(`{"type":"welcome","session" : "abcdef","x":1}`))
	all := strings.Join(*lines, "\n")
	for _, secret := range []string{"hunter", "tok1", "oldpw", "newpw", "abcdef"} {
		if strings.Contains(all, secret) {
			t.Fatalf("%q leaked:\n%s", secret, all)
		}
	}
	if !strings.Contains(all, "passw") || !strings.Contains(all, "ord") {
		t.Fatalf("ordinary text was masked:\n%s", all)
	}
}
