package protocol

import "strings"

// CheckUsername returns nil when name follows the username rules of PROTOCOL
// §5: 1 to 32 characters of A–Z a–z 0–9 _ . -, starting with a letter or
// digit. Otherwise it returns the invalid_username error to answer with.
func CheckUsername(name string) *Error {
	if name == "" {
		return newError(CodeInvalidUsername, "a username is required (1 to 32 letters, digits, _ . -)")
	}
	if len(name) > MaxUsername {
		return newError(CodeInvalidUsername, "a username has at most 32 characters")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if i == 0 && !alnum {
			return newError(CodeInvalidUsername, "a username must start with a letter or a digit")
		}
		if !alnum && c != '_' && c != '.' && c != '-' {
			return newError(CodeInvalidUsername, "a username may only hold letters, digits, _ . and -")
		}
	}
	return nil
}

// FoldName is the key under which a username is unique and sorted: its
// lower-case form. Valid usernames are ASCII, so this is byte-wise.
func FoldName(name string) string {
	for i := 0; i < len(name); i++ {
		if c := name[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(name)
		}
	}
	return name
}

// CheckText trims surrounding white space from a chat text and checks it
// (PROTOCOL §5): 1 to MaxText bytes, LF and TAB allowed, no other control
// character (C0, DEL, C1), since those would drive the reader's terminal.
// It returns the trimmed text, or the error to answer with.
func CheckText(text string) (string, *Error) {
	t := strings.TrimSpace(text)
	if t == "" {
		return "", newError(CodeEmptyMessage, "the message is empty")
	}
	if len(t) > MaxText {
		return "", newError(CodeTextTooLong, "the message is longer than 4096 bytes")
	}
	for _, r := range t {
		if IsControl(r) && r != '\n' && r != '\t' {
			return "", newError(CodeInvalidText, "the message holds a control character")
		}
	}
	return t, nil
}

// IsControl reports whether r is a C0 control, DEL or a C1 control: the
// characters a terminal may act on.
func IsControl(r rune) bool {
	return r < 0x20 || r >= 0x7f && r <= 0x9f
}
