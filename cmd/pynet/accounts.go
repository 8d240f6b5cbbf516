package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"pynet/internal/store/sqlitestore"
	"pynet/protocol"
)

func init() {
	register(&command{name: "accounts", summary: "list or delete the accounts of a data directory", run: runAccounts})
}

func runAccounts(ctx context.Context, args []string) int {
	return accountsMain(args, os.Stdout, os.Stderr)
}

// accountsMain is `pynet accounts -data DIR list|delete NAME`, for
// operators. It opens the store directly; a running server sees a deleted
// account at the next login (a session logged in already keeps going).
func accountsMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pynet accounts", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "", "the server's data `directory` (required)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: pynet accounts -data DIR list\n       pynet accounts -data DIR delete NAME\n\n"+
			"Lists the accounts kept in DIR (name and creation time; never a password hash),\n"+
			"or deletes one: its name is then free to anyone.\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	rest := fs.Args()
	if *data == "" || len(rest) == 0 {
		fs.Usage()
		return 2
	}
	var name string
	switch {
	case rest[0] == "list" && len(rest) == 1:
	case rest[0] == "delete" && len(rest) == 2:
		name = rest[1]
		if e := protocol.CheckUsername(name); e != nil {
			fmt.Fprintf(stderr, "pynet accounts: %q is not a valid name: %s\n", name, e.Message)
			return 2
		}
	default:
		fs.Usage()
		return 2
	}
	if _, err := os.Stat(*data); err != nil {
		fmt.Fprintf(stderr, "pynet accounts: %v\n", err)
		return 1
	}
	st, err := sqlitestore.Open(*data, sqlitestore.Options{Fsync: "always"})
	if err != nil {
		fmt.Fprintf(stderr, "pynet accounts: opening the store: %v\n", err)
		return 1
	}
	defer st.Close()
	if name == "" {
		accs, err := st.Accounts()
		if err != nil {
			fmt.Fprintf(stderr, "pynet accounts: %v\n", err)
			return 1
		}
		for _, a := range accs {
			fmt.Fprintf(stdout, "%s\t%s\n", a.Name, a.Created.UTC().Format("2006-01-02T15:04:05Z"))
		}
		fmt.Fprintf(stderr, "%d account(s)\n", len(accs))
		return 0
	}
	ok, err := st.DeleteAccount(protocol.FoldName(name))
	if err != nil {
		fmt.Fprintf(stderr, "pynet accounts: %v\n", err)
		return 1
	}
	if !ok {
		fmt.Fprintf(stderr, "pynet accounts: no account called %q\n", name)
		return 1
	}
	fmt.Fprintf(stdout, "deleted %s\n", name)
	return 0
}
