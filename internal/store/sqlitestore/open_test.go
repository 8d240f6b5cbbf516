package sqlitestore

import (
	"bytes"
	"database/sql"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"pynet/internal/store"
)

// wantOpenErr opens dir and checks the error names the path and says each
// of wants.
func wantOpenErr(t *testing.T, dir string, opt Options, path string, wants ...string) {
	t.Helper()
	s, err := Open(dir, opt)
	if err == nil {
		s.Close()
		t.Fatalf("Open(%s) succeeded", dir)
	}
	t.Logf("Open(%s): %v", dir, err)
	for _, w := range append([]string{path}, wants...) {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Open(%s) = %q, want it to say %q", dir, err, w)
		}
	}
}

func TestOpenRefusesGarbage(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	if err := os.WriteFile(path, bytes.Repeat([]byte("this is not a database\n"), 500), 0o600); err != nil {
		t.Fatal(err)
	}
	wantOpenErr(t, dir, Options{}, path, "not a SQLite database")
	if b, _ := os.ReadFile(path); !bytes.HasPrefix(b, []byte("this is not")) {
		t.Error("the refused file was changed")
	}
}

func TestOpenRefusesCorrupt(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{})
	msgs := make([]store.Message, 0, 400)
	for id := int64(1); id <= 400; id++ {
		msgs = append(msgs, pub(id, "room"))
	}
	commit(t, s, msgs...)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	path := s.Path()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 6*4096 {
		t.Fatalf("database only %d bytes", len(b))
	}
	// Scribble over the pages past the schema's.
	copy(b[len(b)-3*4096:], bytes.Repeat([]byte{0xA5, 0x5A, 0x00, 0xFF}, 3*1024))
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	wantOpenErr(t, dir, Options{}, path, "corrupt")
}

func TestOpenRefusesForeignDatabase(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE photos (id INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	wantOpenErr(t, dir, Options{}, path, "not PyNet's")
}

func TestOpenRefusesUnwritableDirectory(t *testing.T) {
	base := t.TempDir()
	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// A directory under a regular file can be neither made nor used.
	wantOpenErr(t, filepath.Join(file, "data"), Options{}, filepath.Join(file, "data"), "create data directory")
	wantOpenErr(t, file, Options{}, file, "create data directory")

	t.Run("read-only", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root ignores permission bits")
		}
		ro := filepath.Join(base, "ro")
		if err := os.Mkdir(ro, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(ro, 0o700) })
		wantOpenErr(t, ro, Options{}, ro, "not writable")
	})
}

func TestOpenRefusesBadOptions(t *testing.T) {
	for _, opt := range []Options{{Fsync: "sometimes"}, {Retain: -1}, {CeilingStep: -5}} {
		if s, err := Open(t.TempDir(), opt); err == nil {
			s.Close()
			t.Errorf("Open with %+v succeeded", opt)
		}
	}
	if s, err := Open("", Options{}); err == nil {
		s.Close()
		t.Error("Open with no directory succeeded")
	}
}

func TestMigrationsFresh(t *testing.T) {
	s := mustOpen(t, t.TempDir(), Options{})
	if got := meta(t, s, "schema_version"); got != int64(len(migrations)) {
		t.Errorf("schema_version = %d, want %d", got, len(migrations))
	}
	var tables []string
	rows, err := s.rdb.Query(`SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	want := []string{"accounts", "key_pruned", "messages", "meta", "room_pruned", "sessions"}
	if !slices.Equal(tables, want) {
		t.Errorf("tables %v, want %v", tables, want)
	}
}

// TestMigrationsUpgrade: a database at version N-1 gets migration N, and
// keeps its data and epoch.
func TestMigrationsUpgrade(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{})
	epoch := s.Epoch()
	commit(t, s, pub(1, "r"))
	s.Close()

	next := append(slices.Clone(migrations), `
		CREATE TABLE extra (x INTEGER);
		INSERT INTO extra (x) SELECT id FROM messages;`)
	s2, err := open(dir, Options{}, next)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if got := meta(t, s2, "schema_version"); got != int64(len(next)) {
		t.Errorf("schema_version = %d, want %d", got, len(next))
	}
	var x int64
	if err := s2.rdb.QueryRow(`SELECT x FROM extra`).Scan(&x); err != nil || x != 1 {
		t.Errorf("migration %d not applied: %d %v", len(next), x, err)
	}
	if s2.Epoch() != epoch || s2.NextID() <= 1 {
		t.Errorf("epoch %q (want %q), NextID %d", s2.Epoch(), epoch, s2.NextID())
	}
	s2.Close()

	// A failing migration changes nothing.
	bad := append(slices.Clone(next), `CREATE TABLE ok (x); CREATE TABLE extra (y);`)
	if _, err := open(dir, Options{}, bad); err == nil || !strings.Contains(err.Error(), "migration 3") {
		t.Fatalf("open with a failing migration: %v", err)
	}
	s3, err := open(dir, Options{}, next)
	if err != nil {
		t.Fatal(err)
	}
	defer s3.Close()
	var n int
	if err := s3.rdb.QueryRow(`SELECT COUNT(*) FROM sqlite_schema WHERE name = 'ok'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("a failed migration left table ok (%d, %v)", n, err)
	}
	if got := meta(t, s3, "schema_version"); got != int64(len(next)) {
		t.Errorf("schema_version after a failed migration = %d", got)
	}
	s3.Close()
	// And the real list, one version behind, refuses it.
	wantOpenErr(t, dir, Options{}, s3.Path(), "newer than this program knows")
}

func TestMigrationsRefuseNewer(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{})
	if _, err := s.wc.ExecContext(t.Context(), `UPDATE meta SET value = ? WHERE key = 'schema_version'`, len(migrations)+1); err != nil {
		t.Fatal(err)
	}
	s.Close()
	wantOpenErr(t, dir, Options{}, s.Path(), "newer than this program knows")
}

// Two servers on one directory would assign the same ids: the second
// exclusive open is refused, saying why; tools open without the lock; the
// lock goes with Close.
func TestExclusiveOpen(t *testing.T) {
	dir := t.TempDir()
	first, err := Open(dir, Options{Exclusive: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, Options{Exclusive: true}); err == nil || !strings.Contains(err.Error(), "another pynet server") {
		t.Fatalf("second exclusive open: %v", err)
	}
	tool, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("a tool's open: %v", err)
	}
	tool.Close()
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := Open(dir, Options{Exclusive: true})
	if err != nil {
		t.Fatalf("after Close: %v", err)
	}
	again.Close()
}
