//go:build race

package protocol_test

// raceEnabled: the race detector is on. It drops sync.Pool items at random,
// and json.Valid pools its scanners, so decoding allocates now and then.
const raceEnabled = true
