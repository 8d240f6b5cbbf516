// Package argon2id implements [auth.Hasher] with Argon2id
// (golang.org/x/crypto/argon2, RFC 9106) at the OWASP parameters: 19 MiB of
// memory, 2 passes, 1 lane, a 16-byte random salt and a 32-byte key.
//
// Hashes are stored in the PHC string format, parameters beside the hash, so
// that the cost can be raised later without invalidating stored hashes:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// where salt and hash are standard base64 without padding.
//
// # Bounds
//
// Verify parses the encoding strictly and refuses (returns false) anything
// malformed or whose parameters are out of these bounds, so that a tampered
// database cannot make one login cost minutes or gigabytes:
//
//   - memory m: 8·p KiB (the Argon2 minimum) to 262144 KiB (256 MiB);
//   - passes t: 1 to 10;
//   - lanes p: 1 to 4;
//   - salt: 8 to 64 bytes;
//   - key: exactly 32 bytes;
//   - version: 19 (0x13) only; the whole string at most 256 bytes.
//
// Numbers are plain decimal without sign or leading zeros, the parameters
// come in the order m, t, p, and base64 must be canonical.
package argon2id

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"

	"pynet/internal/auth"
)

// OWASP parameters (Password Storage Cheat Sheet), used by [New].
const (
	owaspMemoryKiB = 19 * 1024 // 19 MiB
	owaspTime      = 2
	owaspThreads   = 1
)

// Sizes of what Hash makes.
const (
	saltLen = 16 // bytes
	keyLen  = 32 // bytes
)

// Bounds that Verify accepts (see the package doc).
const (
	maxMemoryKiB = 256 * 1024 // 256 MiB
	maxTime      = 10
	maxThreads   = 4
	minSaltLen   = 8
	maxSaltLen   = 64
	maxEncoded   = 256 // bytes; the longest valid encoding is about 200
)

var b64 = base64.RawStdEncoding.Strict()

// Hasher hashes passwords with Argon2id. It is safe for concurrent use and
// must not be copied after first use.
type Hasher struct {
	memory  uint32 // KiB
	time    uint32 // passes
	threads uint8  // lanes

	dummyOnce sync.Once
	dummy     string // a hash of a random password, made by the first Dummy
}

var _ auth.Hasher = (*Hasher)(nil)

// New returns a Hasher with the OWASP parameters (m = 19456 KiB, t = 2,
// p = 1).
func New() *Hasher {
	return NewWithParams(owaspMemoryKiB, owaspTime, owaspThreads)
}

// NewWithParams returns a Hasher with the given parameters. It is for
// tests, which want cheap hashes (say NewWithParams(64, 1, 1)); production
// uses [New]. It panics if the parameters are outside the bounds that Verify
// accepts, since the hashes made would never verify.
func NewWithParams(memoryKiB uint32, time uint32, threads uint8) *Hasher {
	p := params{memory: memoryKiB, time: time, threads: threads}
	if !p.valid() {
		panic(fmt.Sprintf("argon2id: NewWithParams: parameters out of bounds: m=%d, t=%d, p=%d", memoryKiB, time, threads))
	}
	return &Hasher{memory: memoryKiB, time: time, threads: threads}
}

// Hash returns the PHC encoding of password with a new random salt.
func (h *Hasher) Hash(password string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("argon2id: salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, h.time, h.memory, h.threads, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, h.memory, h.time, h.threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify reports whether password matches encoded, using the parameters
// stored in encoded (not h's). It returns false for a malformed encoding or
// one out of bounds (see the package doc). The hashes are compared in
// constant time.
func (h *Hasher) Verify(password, encoded string) bool {
	p, salt, key, ok := decode(encoded)
	if !ok {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, p.time, p.memory, p.threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1
}

// Dummy does the work of one Verify against a hash made, on first use, with
// h's parameters from a random password, and throws the result away.
func (h *Hasher) Dummy(password string) {
	h.dummyOnce.Do(func() {
		enc, err := h.Hash(rand.Text())
		if err != nil {
			panic(err) // crypto/rand does not fail
		}
		h.dummy = enc
	})
	h.Verify(password, h.dummy)
}

type params struct {
	memory  uint32
	time    uint32
	threads uint8
}

func (p params) valid() bool {
	return p.threads >= 1 && p.threads <= maxThreads &&
		p.time >= 1 && p.time <= maxTime &&
		p.memory >= 8*uint32(p.threads) && p.memory <= maxMemoryKiB
}

// decode parses a PHC encoding strictly (see the package doc).
func decode(encoded string) (p params, salt, key []byte, ok bool) {
	if len(encoded) > maxEncoded {
		return p, nil, nil, false
	}
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" ||
		parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, false
	}
	m, rest, ok1 := cutNumber(parts[3], "m=", ",")
	t, rest, ok2 := cutNumber(rest, "t=", ",")
	th, rest, ok3 := cutNumber(rest, "p=", "")
	if !ok1 || !ok2 || !ok3 || rest != "" || m > maxMemoryKiB || t > maxTime || th > maxThreads {
		return p, nil, nil, false
	}
	p = params{memory: uint32(m), time: uint32(t), threads: uint8(th)} // in range: checked above
	if !p.valid() {
		return p, nil, nil, false
	}
	salt, ok = decodeBase64(parts[4])
	if !ok || len(salt) < minSaltLen || len(salt) > maxSaltLen {
		return p, nil, nil, false
	}
	key, ok = decodeBase64(parts[5])
	if !ok || len(key) != keyLen {
		return p, nil, nil, false
	}
	return p, salt, key, true
}

// decodeBase64 decodes canonical standard base64 without padding. The
// encoding package skips CR and LF and Strict does not change that, hence
// the comparison with the re-encoding.
func decodeBase64(s string) ([]byte, bool) {
	b, err := b64.DecodeString(s)
	if err != nil || b64.EncodeToString(b) != s {
		return nil, false
	}
	return b, true
}

// cutNumber parses name, a positive decimal number without sign or leading
// zero, and sep (or the end of s if sep is ""), from the start of s.
func cutNumber(s, name, sep string) (n uint64, rest string, ok bool) {
	s, ok = strings.CutPrefix(s, name)
	if !ok {
		return 0, "", false
	}
	digits := s
	if sep != "" {
		digits, rest, ok = strings.Cut(s, sep)
		if !ok {
			return 0, "", false
		}
	}
	if len(digits) == 0 || len(digits) > 10 || digits[0] == '0' {
		return 0, "", false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, "", false
		}
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		return 0, "", false
	}
	return n, rest, true
}
