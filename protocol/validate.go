package protocol

import (
	"strings"
	"unicode/utf8"
)

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

// FoldRoom checks a room name against PROTOCOL §5.1 (1 to 32 characters of
// a–z 0–9 _ -, starting with a letter or a digit; A–Z are accepted) and
// returns its folded (lower-case) form, the one the server reports and keys
// rooms by. Otherwise it returns the invalid_room error to answer with; a
// missing room (passed as "") is invalid_room too. A name that is already
// folded is returned as is, without allocating.
func FoldRoom(name string) (string, *Error) {
	if name == "" {
		return "", newError(CodeInvalidRoom, "a room name is required (1 to 32 letters, digits, _ and -)")
	}
	upper := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if c >= 'A' && c <= 'Z' {
			alnum, upper = true, true
		}
		if i == 0 && !alnum {
			return "", newError(CodeInvalidRoom, "room name "+QuoteForMessage(name)+" must start with a letter or a digit")
		}
		if !alnum && c != '_' && c != '-' {
			return "", newError(CodeInvalidRoom, "room name "+QuoteForMessage(name)+" may only hold letters a–z, digits, _ and -")
		}
	}
	if len(name) > MaxRoomName {
		return "", newError(CodeInvalidRoom, "a room name has at most 32 characters")
	}
	if upper {
		return strings.ToLower(name), nil
	}
	return name, nil
}

// CheckPassword checks a password (PROTOCOL §5.5): has says the member was
// present; a missing one, or one outside MinPassword to MaxPassword bytes of
// UTF-8, is weak_password. Passwords from DecodeClient are always valid
// UTF-8; any other string that is not is weak_password too.
func CheckPassword(pw string, has bool) *Error {
	switch {
	case !has:
		return newError(CodeWeakPassword, "a password is required (8 to 1024 bytes)")
	case len(pw) < MinPassword:
		return newError(CodeWeakPassword, "a password has at least 8 bytes")
	case len(pw) > MaxPassword:
		return newError(CodeWeakPassword, "a password has at most 1024 bytes")
	case !utf8.ValidString(pw):
		return newError(CodeWeakPassword, "a password must be valid UTF-8")
	}
	return nil
}
