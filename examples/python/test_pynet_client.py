"""Unit tests for pynet_client.py (no network): python3 -m unittest -v

The end-to-end test, against a real server, is in cmd/pynet/ops_test.go.
"""

import unittest

import pynet_client as pc


class NeutraliseTest(unittest.TestCase):
    def test_controls_become_visible(self):
        cases = [
            ("plain text", "plain text"),
            ("tab\tstays", "tab\tstays"),
            ("line\nbreak", "line\nbreak"),
            ("\x1b[2Jclear", "\\x1b[2Jclear"),
            ("bell\x07", "bell\\x07"),
            ("cr\rover", "cr\\x0dover"),
            ("del\x7f", "del\\x7f"),
            ("c1\x9b31m", "c1\\x9b31m"),
            ("bidi\u202eevil", "bidi\\u202eevil"),
            ("héllo ✓ 世界", "héllo ✓ 世界"),
        ]
        for given, want in cases:
            with self.subTest(given=given):
                self.assertEqual(pc.neutralise(given), want)

    def test_render_neutralises_every_field(self):
        line = pc.render({"type": "message", "id": 1, "from": "e\x1bvil",
                          "text": "a\x1b]0;title\x07", "ts": "2026-11-26T00:32:33.123Z"})
        self.assertNotIn("\x1b", line)
        self.assertNotIn("\x07", line)
        self.assertEqual(line, "[00:32:33] <e\\x1bvil> a\\x1b]0;title\\x07")

    def test_render_multiline_is_indented(self):
        line = pc.render({"type": "message", "from": "bob", "text": "one\ntwo",
                          "ts": "2026-11-26T00:32:33.123Z"})
        self.assertEqual(line, "[00:32:33] <bob> one\n                 two")

    def test_render_kinds(self):
        cases = [
            ({"type": "joined", "username": "bob"}, "* bob joined"),
            ({"type": "left", "username": "bob", "reason": "timeout"}, "* bob left (timeout)"),
            ({"type": "renamed", "from": "a", "to": "b"}, "* a is now b"),
            ({"type": "users", "users": ["a", "b"]}, "* online: a, b"),
            ({"type": "error", "code": "no_such_user", "message": "nobody"}, "! no_such_user: nobody"),
            ({"type": "bye", "reason": "shutdown"}, "* the server closed the connection (shutdown)"),
            ({"type": "ack", "ref": "1", "id": 3}, None),
            ({"type": "pong"}, None),
            ({"type": "future", "x": "\x1b"}, '? {"type": "future", "x": "\\u001b"}'),
        ]
        for frame, want in cases:
            with self.subTest(frame=frame):
                self.assertEqual(pc.render(frame), want)


class LineBufferTest(unittest.TestCase):
    def test_split_anywhere(self):
        data = b'{"type":"a"}\r\n\n  \n{"type":"b"}\n{"type":"c"}\n'
        for size in range(1, len(data) + 1):
            with self.subTest(size=size):
                lb = pc.LineBuffer()
                got = []
                for i in range(0, len(data), size):
                    got += lb.feed(data[i:i + size])
                self.assertEqual(got, [b'{"type":"a"}', b'{"type":"b"}', b'{"type":"c"}'])

    def test_long_line_is_dropped_without_growing(self):
        lb = pc.LineBuffer(max_line=16)
        got = []
        for _ in range(100):
            got += lb.feed(b"x" * 10)
            self.assertLessEqual(len(lb.buf), 16 + 1 + 10)
        got += lb.feed(b'xx\n{"type":"ok"}\n')
        self.assertEqual(got, [None, b'{"type":"ok"}'])

    def test_line_at_the_limit_is_kept(self):
        lb = pc.LineBuffer(max_line=4)
        self.assertEqual(lb.feed(b"abcd\r\nabcde\n"), [b"abcd", None])


class ArgsTest(unittest.TestCase):
    def test_defaults(self):
        a = pc.parse_args(["--name", "x"])
        self.assertEqual((a.host, a.port, a.name, a.tls), ("127.0.0.1", 5050, "x", False))


if __name__ == "__main__":
    unittest.main()
