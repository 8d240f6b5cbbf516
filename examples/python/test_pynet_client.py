"""Unit tests for pynet_client.py (no network): python3 -m unittest -v

The end-to-end tests, against real servers, are in cmd/pynet/ops_test.go
(the basics, plain and TLS) and internal/client/python_test.go (protocol 1,
rooms, resume after a cut, own messages, a TLS port without --tls).
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


class RoomsTest(unittest.TestCase):
    def test_other_rooms_are_marked(self):
        msg = {"type": "message", "from": "bob", "text": "hi", "room": "go", "ts": "2026-11-26T00:32:33.123Z"}
        self.assertEqual(pc.render(msg, "alice", "go"), "[00:32:33] <bob> hi")
        self.assertEqual(pc.render(msg, "alice", "lobby"), "[00:32:33] #go <bob> hi")

    def test_action(self):
        msg = {"type": "message", "from": "bob", "text": "waves", "room": "lobby", "action": True,
               "ts": "2026-11-26T00:32:33.123Z"}
        self.assertEqual(pc.render(msg), "[00:32:33] * bob waves")

    def test_v2_frames(self):
        self.assertIsNone(pc.render({"type": "welcome", "protocol": 2, "username": "a"}))
        self.assertEqual(pc.render({"type": "entered", "room": "go", "users": ["a", "b"]}), "* in #go; online: a, b")
        self.assertEqual(pc.render({"type": "rooms", "rooms": [{"room": "go", "count": 2}], "more": True}),
                         "* rooms: #go (2), and more")


class ResumeTest(unittest.TestCase):
    def client(self, *argv):
        return pc.Client(pc.parse_args(["--name", "alice"] + list(argv)), None)

    def test_first_join(self):
        self.assertEqual(self.client().join_frame(), {"type": "join", "username": "alice", "protocol": 2})
        self.assertEqual(self.client("--rooms", "#Go,lobby").join_frame()["rooms"], ["go", "lobby"])
        self.assertEqual(self.client("--protocol", "1").join_frame(), {"type": "join", "username": "alice"})

    def test_rejoin_resumes_from_the_position(self):
        c = self.client("--room", "ci")
        c.token, c.epoch, c.pos = "tok", "ep", 41
        self.assertEqual(c.join_frame(), {"type": "join", "username": "alice", "protocol": 2, "rooms": ["ci"],
                                          "session": "tok", "epoch": "ep", "since": 41})

    def test_seen_drops_duplicates(self):
        seen = pc.Seen(size=2)
        a = {"id": 1, "ts": "t1"}
        self.assertTrue(seen.add(a))
        self.assertFalse(seen.add(dict(a)))
        self.assertTrue(seen.add({"id": 1, "ts": "another epoch"}))
        self.assertTrue(seen.add({"id": 2, "ts": "t2"}))
        self.assertTrue(seen.add(a))  # forgotten: the set is bounded


class OutboxTest(unittest.TestCase):
    def test_one_in_flight_paced_and_resent_with_its_ref(self):
        sent = []
        ob = pc.Outbox(sent.append)
        ob.add({"type": "message", "text": "one"})
        ob.add({"type": "message", "text": "two"})
        self.assertEqual(ob.pump(now=0), 0)
        self.assertEqual(sent, [], "nothing goes before the link is up")
        ob.online = True
        ob.pump(now=0)
        ob.pump(now=0)
        self.assertEqual([f["text"] for f in sent], ["one"])
        ref = sent[0]["ref"]
        ob.rate_limited(ref, 500, now=0)
        self.assertAlmostEqual(ob.pump(now=0.1), 0.4)
        ob.pump(now=0.5)
        self.assertEqual([f["ref"] for f in sent], [ref, ref])
        ob.down()
        ob.online = True
        ob.pump(now=1)
        self.assertEqual(sent[-1]["ref"], ref, "a resend keeps its ref")
        self.assertEqual(ob.answered(ref)["text"], "one")
        ob.pump(now=1)
        self.assertEqual(sent[-1]["text"], "two")

    def test_a_replayed_message_of_ours_is_not_sent_again(self):
        sent = []
        ob = pc.Outbox(sent.append)
        ob.online = True
        ob.add({"type": "message", "text": "lost ack", "room": "go"})
        ob.pump(now=0)
        ob.down()
        self.assertFalse(ob.arrived({"text": "lost ack", "room": "lobby"}))
        self.assertTrue(ob.arrived({"text": "lost ack", "room": "go"}))
        self.assertEqual(len(ob.queue), 0)


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
        self.assertEqual((a.host, a.port, a.name, a.tls, a.protocol), ("127.0.0.1", 5050, "x", False, 2))


if __name__ == "__main__":
    unittest.main()
