// Package protocol is the PyNet Chat wire format, version 2 (a superset of
// version 1): newline-delimited JSON frames (one object per line, at most
// MaxFrame bytes), their types, members, error codes and validation rules.
//
// It does no networking and starts no goroutines, so it is easy to test and
// fuzz, and any Go program (the server, the client, bots, the benchmark) can
// import it to speak PyNet.
//
// Where things happen:
//   - LineReader cuts a byte stream into lines and bounds what it buffers.
//   - DecodeClient turns one line into a Frame, or into the protocol error the
//     server must answer with (bad_json, bad_frame, unknown_type).
//     DecodeClientV1 does the same for a connection that joined as a
//     version 1 client, whose v2-only members are ignored.
//   - Builder encodes frames by appending to a byte slice, without reflection
//     and without HTML escaping.
//   - CheckUsername, CheckText, FoldRoom and CheckPassword apply the rules for
//     names, chat text, room names and passwords.
//   - DecodeServer is the client side: it turns a server line into a ServerFrame.
//
// Versions: a join without a protocol member (or with "protocol": 1) makes a
// version 1 client, which lives in the room Lobby; "protocol": 2 (or more)
// makes a version 2 client, with rooms (enter, exit, fetch, rooms), sessions
// that survive a dropped connection (session, epoch, since) and the v2
// welcome. Accounts (register, password, a join's password) and emotes
// (action) are for every client. The decoder knows every type and member of
// version 2; which version a connection speaks, and so whether enter, exit,
// fetch and rooms are unknown_type for it (IsV2Only), is the server's to
// decide.
package protocol
