package auth

import (
	"encoding/base64"
	"encoding/hex"
	"testing"
)

func TestNewToken(t *testing.T) {
	seen := make(map[string]bool)
	for range 1000 {
		tok := NewToken()
		if len(tok) != 43 {
			t.Fatalf("NewToken() = %q: len %d, want 43", tok, len(tok))
		}
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || len(raw) != TokenBytes {
			t.Fatalf("NewToken() = %q: decodes to %d bytes, err %v; want %d bytes", tok, len(raw), err, TokenBytes)
		}
		if seen[tok] {
			t.Fatalf("NewToken() repeated %q", tok)
		}
		seen[tok] = true
	}
}

func TestHashToken(t *testing.T) {
	// SHA-256 of "abc" (FIPS 180-2 test vector).
	const want = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	if got := HashToken("abc"); got != want {
		t.Errorf("HashToken(%q) = %q, want %q", "abc", got, want)
	}
	tok := NewToken()
	h := HashToken(tok)
	if len(h) != 64 {
		t.Errorf("HashToken: len %d, want 64", len(h))
	}
	if _, err := hex.DecodeString(h); err != nil {
		t.Errorf("HashToken: not hex: %v", err)
	}
	if HashToken(tok) != h {
		t.Error("HashToken is not deterministic")
	}
	if HashToken(NewToken()) == h {
		t.Error("two tokens hash alike")
	}
}

func TestTokenEqual(t *testing.T) {
	a, b := HashToken(NewToken()), HashToken(NewToken())
	tests := []struct {
		x, y string
		want bool
	}{
		{a, a, true},
		{a, b, false},
		{a, a[:63], false},
		{"", "", false},
		{a, "", false},
		{"", a, false},
	}
	for _, tt := range tests {
		if got := TokenEqual(tt.x, tt.y); got != tt.want {
			t.Errorf("TokenEqual(%q, %q) = %v, want %v", tt.x, tt.y, got, tt.want)
		}
	}
}
