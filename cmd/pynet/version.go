package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"

	"pynet/internal/server"
	"pynet/protocol"
)

func init() {
	register(&command{
		name:    "version",
		summary: "print the version of pynet",
		run:     runVersion,
	})
}

// runVersion prints one line: the version, the protocol it speaks, the Go
// that built it and, when the build knows, the commit.
func runVersion(_ context.Context, args []string) int {
	if len(args) > 0 {
		fmt.Fprintf(os.Stderr, "pynet version: no arguments, got %q\n", args[0])
		return 2
	}
	line := fmt.Sprintf("pynet %s (protocol %d; %s %s/%s", server.DefaultConfig().Version, protocol.Version,
		runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if bi, ok := debug.ReadBuildInfo(); ok {
		var rev, modified string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value
			}
		}
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if rev != "" {
			line += "; commit " + rev
			if modified == "true" {
				line += " with local changes"
			}
		}
	}
	fmt.Println(line + ")")
	return 0
}
