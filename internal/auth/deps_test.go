package auth

import (
	"os/exec"
	"strings"
	"testing"
)

// TestStdlibOnly keeps this package importable by the standard-library-only
// server core: apart from the standard library it may depend only on pynet.
func TestStdlibOnly(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go not on PATH")
	}
	out, err := exec.Command(gobin, "list", "-deps",
		"-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", "pynet/internal/auth").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	n := 0
	for _, p := range strings.Fields(string(out)) {
		n++
		if p != "pynet" && !strings.HasPrefix(p, "pynet/") {
			t.Errorf("pynet/internal/auth depends on %s, outside the standard library", p)
		}
	}
	if n == 0 {
		t.Error("go list -deps listed nothing outside the standard library; want at least pynet/internal/auth itself")
	}
}
