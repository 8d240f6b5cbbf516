// Package protocol is the PyNet Chat wire format, version 1: newline-delimited
// JSON frames (one object per line, at most MaxFrame bytes), their types,
// members, error codes and validation rules.
//
// It does no networking and starts no goroutines, so it is easy to test and
// fuzz, and any Go program (the server, the client, bots, the benchmark) can
// import it to speak PyNet.
//
// Where things happen:
//   - LineReader cuts a byte stream into lines and bounds what it buffers.
//   - DecodeClient turns one line into a Frame, or into the protocol error the
//     server must answer with (bad_json, bad_frame, unknown_type).
//   - Builder encodes frames by appending to a byte slice, without reflection
//     and without HTML escaping.
//   - CheckUsername and CheckText apply the rules for names and chat text.
//   - DecodeServer is the client side: it turns a server line into a ServerFrame.
package protocol
