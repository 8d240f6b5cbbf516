// Package auth holds the account building blocks of PROTOCOL §5.4 and §5.5
// that the server core needs: the password-hashing interface ([Hasher]),
// session tokens ([NewToken], [HashToken], [TokenEqual]), the failed-login and
// registration throttles ([Throttle]) and the gate that bounds how many
// password hashes run at once and shares them fairly among addresses ([Gate]).
//
// The package uses the standard library only (a test checks it), so the
// stdlib-only core can import it. The real password hash lives in the
// sub-package argon2id, which cmd/pynet wires in.
//
// # Concurrency
//
// Everything here is safe for concurrent use. [Throttle] and [Gate] each
// guard their state with one mutex whose critical sections only touch maps
// and linked lists; [Gate.Do] runs the caller's function outside the lock and
// blocks only the calling goroutine (it starts none). Time is passed in to
// [Throttle] as an argument, so tests need no clock.
package auth
