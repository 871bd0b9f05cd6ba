#!/usr/bin/env python3
# make-seeds.py: writes the hand-made seed inputs of tests/fuzz/corpus/<target>/seed-* (committed;
# run it again after changing it). Inputs a fuzzer found, kept as regression cases, live in the same
# directories as regress-*; this script leaves them alone.
#
# D-Bus messages are marshalled here by a small marshaller of the specification's rules, so that
# the seeds do not depend on the code they test.
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


class Writer:
    def __init__(self, big=False):
        self.big = big
        self.b = bytearray()

    def align(self, n):
        while len(self.b) % n:
            self.b.append(0)

    def fixed(self, fmt, v, n):
        self.align(n)
        self.b += struct.pack((">" if self.big else "<") + fmt, v)

    def string(self, t, s):
        s = s.encode() if isinstance(s, str) else s
        if t == "g":
            self.b.append(len(s))
        else:
            self.fixed("I", len(s), 4)
        self.b += s + b"\0"

    def value(self, sig, v):
        """Marshals v of the single complete type at sig; returns the rest of sig."""
        c = sig[0]
        if c in "y":
            self.b.append(v)
        elif c in "buh":
            self.fixed("I", int(v), 4)
        elif c == "i":
            self.fixed("i", v, 4)
        elif c == "n":
            self.fixed("h", v, 2)
        elif c == "q":
            self.fixed("H", v, 2)
        elif c == "x":
            self.fixed("q", v, 8)
        elif c == "t":
            self.fixed("Q", v, 8)
        elif c == "d":
            self.fixed("d", v, 8)
        elif c in "sog":
            self.string(c, v)
        elif c == "v":
            inner, val = v
            self.string("g", inner)
            self.value(inner, val)
        elif c == "a":
            elem = single(sig[1:])
            self.fixed("I", 0, 4)
            at = len(self.b) - 4
            self.align(8 if elem[0] in "({xtd" else 4 if elem[0] in "bihuaso" else 2 if elem[0] in "nq" else 1)
            start = len(self.b)
            # A dict, or for a dict type with repeated keys, a list of pairs.
            items = v.items() if elem[0] == "{" and isinstance(v, dict) else v
            for item in items:
                self.value(elem, item)
            struct.pack_into((">" if self.big else "<") + "I", self.b, at, len(self.b) - start)
            return sig[1 + len(elem):]
        elif c in "({":
            self.align(8)
            inner = sig[1:single_end(sig) - 1]
            for item in v:
                inner = self.value(inner, item)
            return sig[single_end(sig):]
        else:
            raise ValueError(sig)
        return sig[1:]


def single_end(sig):
    c = sig[0]
    if c == "a":
        return 1 + single_end(sig[1:])
    if c in "({":
        depth, i = 0, 0
        while True:
            depth += sig[i] in "({"
            depth -= sig[i] in ")}"
            i += 1
            if depth == 0:
                return i
    return 1


def single(sig):
    return sig[:single_end(sig)]


def body(sig, values, big=False):
    w = Writer(big)
    rest = sig
    for v in values:
        rest = w.value(rest, v)
    assert rest == ""
    return bytes(w.b)


def message(mtype, serial, fields, sig="", values=(), big=False, flags=0):
    """fields: list of (code, type, value)."""
    b = body(sig, values, big)
    if sig:
        fields = fields + [(8, "g", sig)]
    w = Writer(big)
    w.b += b"B" if big else b"l"
    w.b += bytes([mtype, flags, 1])
    w.fixed("I", len(b), 4)
    w.fixed("I", serial, 4)
    w.fixed("I", 0, 4)
    start = len(w.b)
    for code, t, v in fields:
        w.align(8)
        w.b.append(code)
        w.string("g", t)
        w.value(t, v)
    struct.pack_into((">" if big else "<") + "I", w.b, 12, len(w.b) - start)
    w.align(8)
    return bytes(w.b) + b


SHIM = [(1, "o", "/org/berth/Shim1"), (2, "s", "org.berth.Shim1")]


def call(member, serial=1, sig="", values=(), big=False, path=SHIM):
    return message(1, serial, path + [(3, "s", member)], sig, values, big)


def messages():
    return {
        "get-state": call("GetState"),
        "kill": call("Kill", 2, "ib", (9, True)),
        "kill-big-endian": call("Kill", 3, "ib", (15, False), big=True),
        "delete": call("Delete", 4, "b", (True,)),
        "ping": message(1, 5, [(1, "o", "/"), (2, "s", "org.freedesktop.DBus.Peer"), (3, "s", "Ping")]),
        "introspect": message(1, 6, [(1, "o", "/org/berth/Shim1"),
                                     (2, "s", "org.freedesktop.DBus.Introspectable"),
                                     (3, "s", "Introspect"), (6, "s", "org.berth.Shim1")]),
        "signal-exited": message(4, 7, SHIM + [(3, "s", "Exited")], "isbt", (137, "signaled", False, 1 << 50)),
        "return": message(2, 8, [(5, "u", 6)], "sui", ("running", 4242, -1)),
        "error": message(3, 9, [(4, "s", "org.berth.Error.InvalidState"), (5, "u", 2)], "s", ("Not created.",)),
        "containers": call("Kill", 10, "a{sv}(iu)ay", ({"Start": ("b", True), "Args": ("as", ["a", "b"])},
                                                       (1, 2), [1, 2, 3])),
        "unknown-field": message(1, 11, SHIM + [(3, "s", "Pause"), (42, "v", ("(su)", ("x", 1)))]),
        "two": call("Pause", 12) + call("Resume", 13),
        "all-basic": call("X", 14, "ybnqiuxtdsog", (1, True, -2, 3, -4, 5, -6, 7, 0.5, "s", "/o", "ii")),
    }


def sd_bus_auth(uid="0"):
    return b"\0AUTH EXTERNAL " + uid.encode().hex().encode() + b"\r\nNEGOTIATE_UNIX_FD\r\nBEGIN\r\n"


def auth():
    hello = call("GetState")
    return {
        # The first byte is the chunk size - 1.
        "sd-bus": b"\xff" + sd_bus_auth() + hello,
        "sd-bus-bytewise": b"\x00" + sd_bus_auth() + hello,
        "data": b"\x07" + b"\0AUTH EXTERNAL\r\nDATA\r\nBEGIN\r\n" + hello,
        "data-identity": b"\x10" + b"\0AUTH EXTERNAL\r\nDATA 30\r\nBEGIN\r\n",
        "rejected": b"\xff" + b"\0AUTH ANONYMOUS\r\nAUTH EXTERNAL 31\r\nCANCEL\r\nERROR\r\nAUTH EXTERNAL 30\r\nBEGIN\r\n",
        "begin-first": b"\xff" + b"\0BEGIN\r\n",
        "no-nul": b"\xff" + b"AUTH EXTERNAL 30\r\n",
        "unknown": b"\x03" + b"\0HELLO\r\nAUTH EXTERNAL 30\r\nSTARTTLS\r\nBEGIN\r\n",
    }


def json_state():
    return {
        "container": b'{"id":"web","bundle":"/srv/bundles/web","runtime":"/usr/sbin/runc",'
                     b'"runtime_root":"/run/berth/.runtime","runtime_args":["--debug","--systemd-cgroup"],'
                     b'"log_driver":"file","log_path":"/var/log/berth/web.log","log_path_owned":true,'
                     b'"labels":{"app":"web","tier":""},"terminal":false,"no_pivot_root":false,'
                     b'"created_at":1764000000000000}',
        "container-minimal": b'{"id":"a","bundle":"/b","runtime":"runc","log_driver":"none"}\n',
        "container-nulls": b' {"id":"c.1-x_2","bundle":"/b","runtime":"/r","log_path":null,"labels":null} ',
        "exit-signaled": b'{"status":137,"signal":9,"reason":"signaled","oom_killed":false,'
                         b'"finished_at":1764000000000000}',
        "exit-minimal": b'{"status":0,"reason":"exited"}',
        "exit-oom": b'{"status":137,"signal":9,"reason":"oom-killed","oom_killed":true}',
        "exit-lost": b'{"status":255,"reason":"shim-lost","finished_at":0}',
    }


def ts(sec, nsec):
    return struct.pack("<qi", sec, nsec)


def cri_log():
    stamps = ts(1764000000, 123456789) + ts(0, 0) + ts(-1, 999999999)
    return {
        # Byte 0 is the chunk size - 1, then three timestamps, then the output.
        "lines": b"\xff" + stamps + b"hello\nworld\n",
        "partial": b"\x03" + stamps + b"no newline at the end",
        "empty-lines": b"\x00" + stamps + b"\n\n\na\n\n",
        "binary": b"\x10" + stamps + bytes(range(256)),
        "odd-times": b"\x01" + ts(1 << 40, -5) + ts(253402300799, 1000000000) + ts(-62135596800, 1) + b"a\nb\nc",
        "parse": b"\xff" + stamps + b"\n2026-11-24T09:13:44.123456789Z stdout F hello\n"
                 b"2026-11-24T09:13:44.123456789Z stderr P part\nx stdout F\nx stdout Fy\nts stdin F a\n",
    }


def path_util():
    return {
        "id": b"web",
        "id-longest": b"a" * 128,
        "id-too-long": b"a" * 129,
        "id-chars": b"A9_.-z",
        "id-dot-first": b".hidden",
        "path": b"/var/log/berth/web.log",
        "path-trailing": b"/var/log/",
        "path-root": b"/",
        "path-dots": b"/a/../b/./c",
        "path-double": b"/a//b",
        "json-object": b' {"ociVersion":"1.0.2","process":{"args":["sh","-c","echo"],"terminal":false}}\n',
        "json-array": b"[1,2]",
        "json-trailing": b'{"a":1} x',
        "json-trailing-space": b'{"a":1}  \t\r\n  ',
        "json-unterminated": b'{"a":',
        "json-nul": b'{"a":"\\u0000"}',
    }


def create_body(options, big=False, cid="web", bundle="/srv/bundles/web"):
    return (b"\x01" if big else b"\x00") + body("ssa{sv}", (cid, bundle, options), big)


def create_options():
    return {
        "none": create_body({}),
        "start": create_body({"Start": ("b", True)}),
        "big-endian": create_body({"Start": ("b", True), "LogDriver": ("s", "none")}, big=True),
        "log": create_body({"LogDriver": ("s", "file"), "LogPath": ("s", "/var/log/web.log")}),
        "all": create_body({"Runtime": ("s", "runc"), "RuntimeArgs": ("as", ["--debug"]),
                            "Terminal": ("b", False), "LogMaxSize": ("t", 0),
                            "Labels": ("a{ss}", {"app": "web", "": "x"}), "NoPivotRoot": ("b", True),
                            "Start": ("b", False)}),
        "stdin-fd": create_body({"Stdin": ("h", 0)}),
        "wrong-type": create_body({"Start": ("s", "yes")}),
        "unknown": create_body({"Frobnicate": ("i", 1)}),
        "bad-id": create_body({}, cid="../etc"),
        "relative-log": create_body({"LogPath": ("s", "web.log")}),
        "none-with-path": create_body({"LogDriver": ("s", "none"), "LogPath": ("s", "/x")}),
        "journald": create_body({"LogDriver": ("s", "journald")}),
        # Regression: read_options() leaked the first list of an option given twice.
        "repeated-lists": create_body([("RuntimeArgs", ("as", ["--debug"])), ("RuntimeArgs", ("as", ["-v"])),
                                       ("Labels", ("a{ss}", {"a": "b"})), ("Labels", ("a{ss}", {"c": "d"}))]),
    }


def main():
    targets = {
        "dbus-message": messages(),
        "dbus-auth": auth(),
        "json-state": json_state(),
        "cri-log": cri_log(),
        "path-util": path_util(),
        "create-options": create_options(),
    }
    for target, seeds in targets.items():
        d = os.path.join(HERE, "corpus", target)
        os.makedirs(d, exist_ok=True)
        for name, data in seeds.items():
            with open(os.path.join(d, "seed-" + name), "wb") as f:
                f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
