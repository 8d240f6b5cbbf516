package argon2id

import (
	"encoding/base64"
	"strings"
	"sync"
	"testing"
)

// cheap returns a Hasher cheap enough for tests.
func cheap() *Hasher { return NewWithParams(64, 1, 1) }

func TestRoundTrip(t *testing.T) {
	h := cheap()
	for _, pw := range []string{"correct horse battery staple", "", "pässwörd ✓", strings.Repeat("x", 1024)} {
		enc, err := h.Hash(pw)
		if err != nil {
			t.Fatalf("Hash: %v", err)
		}
		if !h.Verify(pw, enc) {
			t.Errorf("Verify(%q, Hash(%q) = %q) = false, want true", pw, pw, enc)
		}
		if h.Verify(pw+"x", enc) {
			t.Errorf("Verify(%q, Hash(%q)) = true, want false", pw+"x", pw)
		}
	}
}

func TestWrongPassword(t *testing.T) {
	h := cheap()
	enc, err := h.Hash("hunter22")
	if err != nil {
		t.Fatal(err)
	}
	for _, pw := range []string{"", "hunter2", "Hunter22", "hunter22 ", "hunter222"} {
		if h.Verify(pw, enc) {
			t.Errorf("Verify(%q) = true, want false", pw)
		}
	}
}

func TestSaltsDiffer(t *testing.T) {
	h := cheap()
	a, _ := h.Hash("same")
	b, _ := h.Hash("same")
	if a == b {
		t.Fatalf("two hashes of one password are equal: %q", a)
	}
}

func TestEncodingFormat(t *testing.T) {
	enc, err := NewWithParams(64, 3, 2).Hash("pw")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(enc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != "v=19" || parts[3] != "m=64,t=3,p=2" {
		t.Fatalf("Hash = %q, want $argon2id$v=19$m=64,t=3,p=2$salt$hash", enc)
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) != saltLen || len(key) != keyLen {
		t.Fatalf("Hash = %q: salt %d bytes (%v), key %d bytes (%v); want %d and %d",
			enc, len(salt), err1, len(key), err2, saltLen, keyLen)
	}
}

// TestKnownAnswer checks Verify against a hash made by another
// implementation: the example in the README of argon2-cffi (Python bindings
// of the reference C code), with its default parameters m=64 MiB, t=3, p=4.
// It costs about a quarter of a second.
func TestKnownAnswer(t *testing.T) {
	const enc = "$argon2id$v=19$m=65536,t=3,p=4$MIIRqgvgQbgj220jfp0MPA$YfwJSVjtjSU0zzV/P3S9nnQ/USre2wvJMjfCIjrTQbg"
	h := cheap()
	if !h.Verify("correct horse battery staple", enc) {
		t.Error("Verify(right password) = false")
	}
	if h.Verify("Tr0ub4dor&3", enc) {
		t.Error("Verify(wrong password) = true")
	}
}

func TestOWASPParameters(t *testing.T) {
	h := New()
	enc, err := h.Hash("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	const prefix = "$argon2id$v=19$m=19456,t=2,p=1$"
	if !strings.HasPrefix(enc, prefix) {
		t.Fatalf("New().Hash = %q, want prefix %q", enc, prefix)
	}
	if len(enc) != len(prefix)+22+1+43 {
		t.Fatalf("New().Hash = %q: length %d, want %d (16-byte salt, 32-byte key)", enc, len(enc), len(prefix)+22+1+43)
	}
	if !cheap().Verify("correct horse battery staple", enc) {
		t.Fatal("Verify of an OWASP hash = false; Verify must use the stored parameters")
	}
}

func TestMalformed(t *testing.T) {
	h := cheap()
	good, err := h.Hash("pw")
	if err != nil {
		t.Fatal(err)
	}
	if !h.Verify("pw", good) {
		t.Fatal("Verify of a good hash = false")
	}
	parts := strings.Split(good, "$")
	salt, key := parts[4], parts[5]
	with := func(alg, ver, params, salt, key string) string {
		return strings.Join([]string{"", alg, ver, params, salt, key}, "$")
	}
	flip := func(s string) string { // change the first character
		c := byte('A')
		if s[0] == 'A' {
			c = 'B'
		}
		return string(c) + s[1:]
	}
	salt8 := base64.RawStdEncoding.EncodeToString(make([]byte, 8))
	salt7 := base64.RawStdEncoding.EncodeToString(make([]byte, 7))
	salt65 := base64.RawStdEncoding.EncodeToString(make([]byte, 65))
	key31 := base64.RawStdEncoding.EncodeToString(make([]byte, 31))
	key33 := base64.RawStdEncoding.EncodeToString(make([]byte, 33))
	key64 := base64.RawStdEncoding.EncodeToString(make([]byte, 64))

	tests := []struct {
		name, enc string
	}{
		{"empty", ""},
		{"just dollars", "$$$$$"},
		{"no leading dollar", strings.TrimPrefix(good, "$")},
		{"trailing dollar", good + "$"},
		{"trailing newline", good + "\n"},
		{"trailing CRLF", good + "\r\n"},
		{"newline in salt", with("argon2id", "v=19", "m=64,t=1,p=1", salt[:4]+"\n"+salt[4:], key)},
		{"CR in hash", with("argon2id", "v=19", "m=64,t=1,p=1", salt, key[:4]+"\r"+key[4:])},
		{"leading space", " " + good},
		{"too many parts", good + "$x"},
		{"missing hash", with("argon2id", "v=19", "m=64,t=1,p=1", salt, "")},
		{"missing version", "$argon2id$m=64,t=1,p=1$" + salt + "$" + key},
		{"argon2i", with("argon2i", "v=19", "m=64,t=1,p=1", salt, key)},
		{"argon2d", with("argon2d", "v=19", "m=64,t=1,p=1", salt, key)},
		{"upper case", with("ARGON2ID", "v=19", "m=64,t=1,p=1", salt, key)},
		{"version 16", with("argon2id", "v=16", "m=64,t=1,p=1", salt, key)},
		{"version 019", with("argon2id", "v=019", "m=64,t=1,p=1", salt, key)},
		{"params reordered", with("argon2id", "v=19", "t=1,m=64,p=1", salt, key)},
		{"params missing p", with("argon2id", "v=19", "m=64,t=1", salt, key)},
		{"params extra", with("argon2id", "v=19", "m=64,t=1,p=1,k=1", salt, key)},
		{"params spaces", with("argon2id", "v=19", "m=64, t=1, p=1", salt, key)},
		{"leading zero", with("argon2id", "v=19", "m=064,t=1,p=1", salt, key)},
		{"plus sign", with("argon2id", "v=19", "m=+64,t=1,p=1", salt, key)},
		{"minus sign", with("argon2id", "v=19", "m=64,t=-1,p=1", salt, key)},
		{"empty number", with("argon2id", "v=19", "m=,t=1,p=1", salt, key)},
		{"hex number", with("argon2id", "v=19", "m=0x40,t=1,p=1", salt, key)},
		{"huge number", with("argon2id", "v=19", "m=99999999999999999999,t=1,p=1", salt, key)},
		{"m wraps uint32", with("argon2id", "v=19", "m=4294967360,t=1,p=1", salt, key)},
		{"m over 256 MiB", with("argon2id", "v=19", "m=262145,t=1,p=1", salt, key)},
		{"m under 8p", with("argon2id", "v=19", "m=15,t=1,p=2", salt, key)},
		{"t zero", with("argon2id", "v=19", "m=64,t=0,p=1", salt, key)},
		{"t over 10", with("argon2id", "v=19", "m=64,t=11,p=1", salt, key)},
		{"p zero", with("argon2id", "v=19", "m=64,t=1,p=0", salt, key)},
		{"p over 4", with("argon2id", "v=19", "m=64,t=1,p=5", salt, key)},
		{"p wraps uint8", with("argon2id", "v=19", "m=64,t=1,p=257", salt, key)},
		{"salt padded", with("argon2id", "v=19", "m=64,t=1,p=1", salt+"==", key)},
		{"hash padded", with("argon2id", "v=19", "m=64,t=1,p=1", salt, key+"=")},
		{"salt url alphabet", with("argon2id", "v=19", "m=64,t=1,p=1", "____________________-A", key)},
		{"salt bad char", with("argon2id", "v=19", "m=64,t=1,p=1", "!"+salt[1:], key)},
		{"salt short", with("argon2id", "v=19", "m=64,t=1,p=1", salt7, key)},
		{"salt long", with("argon2id", "v=19", "m=64,t=1,p=1", salt65, key)},
		{"salt empty", with("argon2id", "v=19", "m=64,t=1,p=1", "", key)},
		{"key short", with("argon2id", "v=19", "m=64,t=1,p=1", salt, key31)},
		{"key long", with("argon2id", "v=19", "m=64,t=1,p=1", salt, key33)},
		{"key 64", with("argon2id", "v=19", "m=64,t=1,p=1", salt8, key64)},
		{"key non-canonical", with("argon2id", "v=19", "m=64,t=1,p=1", salt, key[:len(key)-1]+"B")},
		{"too long", with("argon2id", "v=19", "m=64,t=1,p=1", salt, key) + strings.Repeat(" ", 300)},
		// Tampering that stays well-formed: the hash no longer matches.
		{"tampered salt", with("argon2id", "v=19", "m=64,t=1,p=1", flip(salt), key)},
		{"tampered hash", with("argon2id", "v=19", "m=64,t=1,p=1", salt, flip(key))},
		{"tampered m", with("argon2id", "v=19", "m=72,t=1,p=1", salt, key)},
		{"tampered t", with("argon2id", "v=19", "m=64,t=2,p=1", salt, key)},
		{"tampered p", with("argon2id", "v=19", "m=64,t=1,p=2", salt, key)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if h.Verify("pw", tt.enc) {
				t.Errorf("Verify(%q) = true, want false", tt.enc)
			}
		})
	}
}

// TestBounds checks the parameter bounds without running expensive hashes:
// decode alone decides whether Verify would hash at all.
func TestBounds(t *testing.T) {
	salt := base64.RawStdEncoding.EncodeToString(make([]byte, 16))
	key := base64.RawStdEncoding.EncodeToString(make([]byte, 32))
	tests := []struct {
		params string
		ok     bool
	}{
		{"m=19456,t=2,p=1", true},
		{"m=8,t=1,p=1", true},
		{"m=7,t=1,p=1", false},
		{"m=32,t=1,p=4", true},
		{"m=31,t=1,p=4", false},
		{"m=262144,t=10,p=4", true},
		{"m=262145,t=1,p=1", false},
		{"m=64,t=10,p=1", true},
		{"m=64,t=11,p=1", false},
		{"m=64,t=1,p=4", true},
		{"m=64,t=1,p=5", false},
	}
	for _, tt := range tests {
		enc := "$argon2id$v=19$" + tt.params + "$" + salt + "$" + key
		if _, _, _, ok := decode(enc); ok != tt.ok {
			t.Errorf("decode(%q) ok = %v, want %v", tt.params, ok, tt.ok)
		}
	}
}

func TestNewWithParamsPanics(t *testing.T) {
	for _, p := range []params{{7, 1, 1}, {262145, 1, 1}, {64, 0, 1}, {64, 11, 1}, {64, 1, 0}, {64, 1, 5}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewWithParams(%d, %d, %d) did not panic", p.memory, p.time, p.threads)
				}
			}()
			NewWithParams(p.memory, p.time, p.threads)
		}()
	}
}

func TestDummy(t *testing.T) {
	h := cheap()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { h.Dummy("anything") })
	}
	wg.Wait()
	first := h.dummy
	if _, _, _, ok := decode(first); !ok || !strings.HasPrefix(first, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("dummy hash %q: not a valid hash with the Hasher's parameters", first)
	}
	h.Dummy("again")
	if h.dummy != first {
		t.Fatal("the dummy hash changed between calls")
	}
}

func TestConcurrent(t *testing.T) {
	h := cheap()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			pw := strings.Repeat("p", i+1)
			enc, err := h.Hash(pw)
			if err != nil || !h.Verify(pw, enc) {
				t.Errorf("round trip of %q failed (%v)", pw, err)
			}
		})
	}
	wg.Wait()
}

func BenchmarkHashOWASP(b *testing.B) {
	h := New()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Hash("correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyOWASP(b *testing.B) {
	h := New()
	enc, err := h.Hash("correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if !h.Verify("correct horse battery staple", enc) {
			b.Fatal("Verify = false")
		}
	}
}
