package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pynet/internal/store"
	"pynet/internal/store/sqlitestore"
)

func TestAccountsListAndDelete(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	st, err := sqlitestore.Open(dir, sqlitestore.Options{Fsync: "always"})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Zed", "alice"} {
		if err := st.CreateAccount(store.Account{Key: strings.ToLower(name), Name: name, Hash: "$argon2id$secret-hash", Created: time.Unix(1796000000, 0)}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := accountsMain(args, &out, &errb)
		return code, out.String(), errb.String()
	}
	code, out, errOut := run("-data", dir, "list")
	if code != 0 || out != "alice\t2026-11-30T00:53:20Z\nZed\t2026-11-30T00:53:20Z\n" || !strings.Contains(errOut, "2 account(s)") {
		t.Fatalf("list: %d %q %q", code, out, errOut)
	}
	if strings.Contains(out+errOut, "argon2id") {
		t.Fatal("list shows a password hash")
	}
	if code, out, _ := run("-data", dir, "delete", "ZED"); code != 0 || !strings.Contains(out, "deleted") {
		t.Fatalf("delete: %d %q", code, out)
	}
	if code, _, errOut := run("-data", dir, "delete", "zed"); code != 1 || !strings.Contains(errOut, "no account") {
		t.Fatalf("second delete: %d %q", code, errOut)
	}
	if code, out, _ := run("-data", dir, "list"); code != 0 || strings.Contains(out, "Zed") {
		t.Fatalf("after delete: %q", out)
	}
	for _, bad := range [][]string{{}, {"-data", dir}, {"-data", dir, "frob"}, {"-data", dir, "delete"}, {"list"}, {"-data", dir, "delete", "no good"}} {
		if code, _, _ := run(bad...); code != 2 {
			t.Errorf("%q: exit %d, want 2", bad, code)
		}
	}
	if code, _, _ := run("-data", filepath.Join(dir, "missing"), "list"); code != 1 {
		t.Errorf("a missing directory: exit %d, want 1", code)
	}
}
