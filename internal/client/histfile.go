package client

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"pynet/internal/term"
	"pynet/protocol"
)

// The input history and the /ignore list live in small files between runs
// (Options.HistoryFile, Options.IgnoreFile), readable by the user only.
// Passwords never reach them: they are asked at a prompt of their own,
// outside the history.

// histMax is how many lines of input history are kept.
const histMax = 1000

// loadHistory fills h from file: one line typed per line of the file,
// quoted as Go strings (so multi-line messages stay one entry). A missing
// or unreadable file is an empty history; lines that do not unquote are
// skipped. A file grown past twice histMax is rewritten with the last
// histMax.
func loadHistory(file string, h *term.History) {
	if file == "" {
		return
	}
	f, err := os.Open(file)
	if err != nil {
		return
	}
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 4*maxDraft)
	for sc.Scan() {
		if s, err := strconv.Unquote(sc.Text()); err == nil {
			lines = append(lines, s)
		}
	}
	f.Close()
	if len(lines) > 2*histMax {
		lines = lines[len(lines)-histMax:]
		writeLines(file, lines, strconv.Quote)
	}
	for _, l := range lines {
		h.Add(l)
	}
}

// appendHistory adds one line to the history file.
func appendHistory(file, line string) error {
	if file == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	_, err = f.WriteString(strconv.Quote(line) + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// loadIgnores reads the names in the ignore file, one per line.
func loadIgnores(file string) []string {
	if file == "" {
		return nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	var names []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && protocol.CheckUsername(l) == nil {
			names = append(names, l)
		}
	}
	return names
}

// saveIgnores writes the ignore file.
func saveIgnores(file string, names []string) error {
	if file == "" {
		return nil
	}
	slices.Sort(names)
	return writeLines(file, names, func(s string) string { return s })
}

// writeLines replaces file with lines, through a temporary file.
func writeLines(file string, lines []string, enc func(string) string) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(enc(l) + "\n")
	}
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, file)
}
