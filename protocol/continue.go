package protocol

// ContinueFrame returns a Builder that adds members to a frame already
// started in dst (dst holds `{"type":…` and perhaps more members, without
// the closing brace). The server uses it to finish frames whose last
// members are only known later, such as a welcome's privates count.
func ContinueFrame(dst []byte) *Builder { return &Builder{buf: dst} }

// Bytes returns the frame so far, without its closing brace: the start of
// a frame to finish later with ContinueFrame.
func (b *Builder) Bytes() []byte { return b.buf }
