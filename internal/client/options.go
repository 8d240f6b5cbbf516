package client

import "time"

// Options configures RunPipe and RunInteractive.
type Options struct {
	Config
	Name string // username; asked for when empty (interactive only)
	// Rooms are entered when joining (protocol 2); nil enters lobby.
	Rooms []string
	// Room is where plain lines go at first; "" is the first of Rooms
	// (lobby without Rooms). Pipe mode enters it if Rooms lacks it.
	Room string
	// Login logs in to the account of Name: the password is asked for
	// (interactive) or read from PasswordFile.
	Login bool
	// PasswordFile holds the account's password (pipe mode, or to avoid
	// the prompt); it is read when needed and not kept.
	PasswordFile string
	JSON         bool // pipe mode: print every frame as received instead of text lines
	Color        bool // colour the output
	Colors256    bool // the terminal has 256 colours: more distinct nick colours
	// HistoryFile keeps the input history between runs ("" for none).
	HistoryFile string
	// IgnoreFile keeps the /ignore list between runs ("" for none).
	IgnoreFile string
	// GiveUp bounds how long pipe mode tries to reconnect before it
	// exits (default 2 minutes); the interactive client never gives up.
	GiveUp time.Duration
}

// DefaultGiveUp is pipe mode's default Options.GiveUp.
const DefaultGiveUp = 2 * time.Minute
