package replog

import (
	"encoding/binary"
	"encoding/json"
	"errors"
)

// The entry codec. Every node decodes every entry, so the codec is on the
// hot path (encoding/json took a fifth of a node's CPU under load): an
// entry is a version byte, then one field after another, each a tag byte
// and its value: an unsigned varint for numbers, a varint length and the
// bytes for strings, nothing for a true boolean (false and empty values
// are left out). A decoded command's strings share one copy of the entry.
// Entries that start with '{' are JSON (what tests and operators may
// write by hand) and are decoded as such.

const codecVersion = 0x01

// Field tags. Never reuse or renumber one: the log outlives a build.
const (
	tagOp = iota + 1
	tagNode
	tagReq
	tagConn
	tagSID
	tagAtt
	tagTS
	tagRoom
	tagFrom
	tagTo
	tagToSID
	tagText
	tagAction
	tagRef
	tagHasRef
	tagFromKey
	tagToKey
	tagName
	tagV2
	tagRooms // repeated
	tagSince
	tagUseSince
	tagToken
	tagNewToken
	tagAccount
	tagAccName
	tagIsAccount
	tagAddr
	tagReason
	tagGen
	tagNodes // repeated
)

// Encode returns c as an entry's payload.
func Encode(c *Command) []byte {
	n := 24 + len(c.Op) + len(c.Node) + len(c.SID) + len(c.Room) + len(c.From) + len(c.To) + len(c.ToSID) +
		len(c.Text) + len(c.Ref) + len(c.FromKey) + len(c.ToKey) + len(c.Name) + len(c.Token) + len(c.NewToken) +
		len(c.Account) + len(c.AccName) + len(c.Addr) + len(c.Reason) + 8*16
	for _, r := range c.Rooms {
		n += len(r) + 3
	}
	for _, r := range c.Nodes {
		n += len(r) + 3
	}
	b := make([]byte, 0, n)
	b = append(b, codecVersion)
	field := func(tag byte, s string) {
		b = append(b, tag)
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	str := func(tag byte, s string) {
		if s != "" {
			field(tag, s)
		}
	}
	list := func(tag byte, l []string) { // repeated: every item, empty ones too
		for _, s := range l {
			field(tag, s)
		}
	}
	num := func(tag byte, v uint64) {
		if v != 0 {
			b = append(b, tag)
			b = binary.AppendUvarint(b, v)
		}
	}
	flag := func(tag byte, v bool) {
		if v {
			b = append(b, tag)
		}
	}
	str(tagOp, c.Op)
	str(tagNode, c.Node)
	num(tagReq, c.Req)
	num(tagConn, c.Conn)
	str(tagSID, c.SID)
	num(tagAtt, c.Att)
	num(tagTS, uint64(c.TS))
	str(tagRoom, c.Room)
	str(tagFrom, c.From)
	str(tagTo, c.To)
	str(tagToSID, c.ToSID)
	str(tagText, c.Text)
	flag(tagAction, c.Action)
	str(tagRef, c.Ref)
	flag(tagHasRef, c.HasRef)
	str(tagFromKey, c.FromKey)
	str(tagToKey, c.ToKey)
	str(tagName, c.Name)
	flag(tagV2, c.V2)
	list(tagRooms, c.Rooms)
	num(tagSince, uint64(c.Since))
	flag(tagUseSince, c.UseSince)
	str(tagToken, c.Token)
	str(tagNewToken, c.NewToken)
	str(tagAccount, c.Account)
	str(tagAccName, c.AccName)
	flag(tagIsAccount, c.IsAccount)
	str(tagAddr, c.Addr)
	str(tagReason, c.Reason)
	num(tagGen, c.Gen)
	list(tagNodes, c.Nodes)
	return b
}

var errCorrupt = errors.New("replog: corrupt entry")

// Decode reads an entry's command.
func Decode(data []byte) (*Command, error) {
	if len(data) > 0 && data[0] == '{' {
		var c Command
		if err := json.Unmarshal(data, &c); err != nil {
			return nil, err
		}
		return &c, nil
	}
	if len(data) == 0 || data[0] != codecVersion {
		return nil, errors.New("replog: unknown entry format")
	}
	all := string(data) // one copy; every string field is a slice of it
	c := &Command{}
	for i := 1; i < len(all); {
		tag := all[i]
		i++
		switch tag {
		case tagAction:
			c.Action = true
			continue
		case tagHasRef:
			c.HasRef = true
			continue
		case tagV2:
			c.V2 = true
			continue
		case tagUseSince:
			c.UseSince = true
			continue
		case tagIsAccount:
			c.IsAccount = true
			continue
		}
		v, n := binary.Uvarint(data[i:])
		if n <= 0 {
			return nil, errCorrupt
		}
		i += n
		switch tag {
		case tagReq:
			c.Req = v
			continue
		case tagConn:
			c.Conn = v
			continue
		case tagAtt:
			c.Att = v
			continue
		case tagTS:
			c.TS = int64(v)
			continue
		case tagSince:
			c.Since = int64(v)
			continue
		case tagGen:
			c.Gen = v
			continue
		}
		if v > uint64(len(all)-i) {
			return nil, errCorrupt
		}
		s := all[i : i+int(v)]
		i += int(v)
		switch tag {
		case tagOp:
			c.Op = s
		case tagNode:
			c.Node = s
		case tagSID:
			c.SID = s
		case tagRoom:
			c.Room = s
		case tagFrom:
			c.From = s
		case tagTo:
			c.To = s
		case tagToSID:
			c.ToSID = s
		case tagText:
			c.Text = s
		case tagRef:
			c.Ref = s
		case tagFromKey:
			c.FromKey = s
		case tagToKey:
			c.ToKey = s
		case tagName:
			c.Name = s
		case tagRooms:
			c.Rooms = append(c.Rooms, s)
		case tagToken:
			c.Token = s
		case tagNewToken:
			c.NewToken = s
		case tagAccount:
			c.Account = s
		case tagAccName:
			c.AccName = s
		case tagAddr:
			c.Addr = s
		case tagReason:
			c.Reason = s
		case tagNodes:
			c.Nodes = append(c.Nodes, s)
		default:
			return nil, errCorrupt // a string field this build does not know
		}
	}
	return c, nil
}
