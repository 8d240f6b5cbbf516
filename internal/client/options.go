package client

// Options configures RunPipe and RunInteractive.
type Options struct {
	Config
	Name  string // username; asked for when empty (interactive only)
	JSON  bool   // pipe mode: print every frame as received instead of text lines
	Color bool   // colour the output
}
