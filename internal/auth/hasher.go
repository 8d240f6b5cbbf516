package auth

// Hasher is a slow, salted password hash (PROTOCOL §5.5: "current OWASP
// strength"). Implementations must be safe for concurrent use; callers run
// Hash, Verify and Dummy through a [Gate] so that hashing never starves chat.
type Hasher interface {
	// Hash returns the self-describing encoding of password (algorithm,
	// parameters, salt and hash), to be stored as is.
	Hash(password string) (string, error)

	// Verify reports whether password matches encoded, an output of Hash.
	// A malformed encoding, or one whose parameters are out of the
	// implementation's bounds, is false.
	Verify(password, encoded string) bool

	// Dummy does the work of one Verify against a fixed dummy hash and
	// returns nothing. The server calls it for a name that is no account, so
	// that the time taken does not reveal whether a name is an account.
	Dummy(password string)
}
