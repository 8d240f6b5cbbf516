package client

import "testing"

// TestGuardRestoresThenPanics: a panic in a client goroutine runs OnPanic
// (the terminal is restored) and then goes on, so the crash is not hidden.
func TestGuardRestoresThenPanics(t *testing.T) {
	restored := false
	defer func() {
		if r := recover(); r != "boom" {
			t.Fatalf("recovered %v, want the original panic", r)
		}
		if !restored {
			t.Fatal("OnPanic did not run")
		}
	}()
	func() {
		defer guard(func() { restored = true })
		panic("boom")
	}()
}
