package server_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestCoreIsStandardLibraryOnly: the protocol, the connection, room and
// fan-out code, the store interface and the auth building blocks import
// only the standard library (the SQLite engine and Argon2id are wired in by
// cmd/pynet). A learner reads the core without any third-party code.
func TestCoreIsStandardLibraryOnly(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go not on PATH")
	}
	core := []string{"pynet/protocol", "pynet/internal/server", "pynet/internal/store", "pynet/internal/auth", "pynet/internal/wiretrace",
		"pynet/internal/replog", "pynet/internal/replog/memlog"}
	args := append([]string{"list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}"}, core...)
	out, err := exec.Command(gobin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	seen := 0
	for _, p := range strings.Fields(string(out)) {
		seen++
		if p != "pynet" && !strings.HasPrefix(p, "pynet/") {
			t.Errorf("the core depends on %s, outside the standard library", p)
		}
		if strings.Contains(p, "sqlitestore") || strings.Contains(p, "argon2id") || p == "pynet/internal/cluster" {
			t.Errorf("the core imports %s: it must stay behind its interface", p)
		}
	}
	if seen < len(core) {
		t.Fatalf("go list -deps listed %d packages, want at least the %d core ones", seen, len(core))
	}
}
