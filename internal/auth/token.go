package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
)

// TokenBytes is the number of random bytes in a session token (256 bits;
// PROTOCOL §5.4 asks for at least 128).
const TokenBytes = 32

// NewToken returns a new session token: [TokenBytes] bytes from crypto/rand,
// base64url-encoded without padding (43 characters). Give it to the client
// and store only [HashToken] of it.
func NewToken() string {
	b := make([]byte, TokenBytes)
	// crypto/rand.Read never returns an error (it crashes the program
	// irrecoverably if the system's generator fails).
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// HashToken returns the hex-encoded SHA-256 of token, the form in which
// tokens are stored and compared. A token has 256 random bits, so a fast
// hash is enough: there is nothing to guess.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// TokenEqual reports whether two token hashes are equal, in time that
// depends only on their lengths. An empty hash never matches, so an unset
// token cannot be resumed.
func TokenEqual(hashA, hashB string) bool {
	if hashA == "" || hashB == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(hashA), []byte(hashB)) == 1
}
