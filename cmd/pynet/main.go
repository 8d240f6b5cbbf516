// Command pynet is PyNet Chat in one binary: the server, the terminal client
// and the tools around them. Each subcommand lives in its own file and
// registers itself in init, with its own flag set.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one subcommand: `pynet NAME [flags]`.
type command struct {
	name    string
	summary string
	// run parses args and runs until ctx is cancelled (SIGINT/SIGTERM) or the
	// work is done. It returns the process exit status.
	run func(ctx context.Context, args []string) int
}

var commands = map[string]*command{}

func register(c *command) { commands[c.name] = c }

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	name := os.Args[1]
	switch name {
	case "-h", "-help", "--help", "help":
		usage()
		return
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "pynet: unknown command %q\n\n", name)
		usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := c.run(ctx, os.Args[2:])
	stop()
	os.Exit(code)
}

func usage() {
	fmt.Fprintf(os.Stderr, "usage: pynet COMMAND [flags]\n\ncommands:\n")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-8s %s\n", n, commands[n].summary)
	}
	fmt.Fprintf(os.Stderr, "\nRun 'pynet COMMAND -h' for the flags of a command.\n")
}
