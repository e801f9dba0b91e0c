#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_decode into tests/fuzz/corpus/: a few
small valid values and messages, msgpack written by hand (no packages)."""
import os
import struct

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def s(text):
    b = text.encode()
    assert len(b) < 32
    return bytes([0xA0 | len(b)]) + b


def handle(owner, obj):
    return b"\xd8\x01" + struct.pack(">QQ", owner, obj)


def error(code, message, where):
    body = b"\x93" + b"\xd2" + struct.pack(">i", code) + s(message) + s(where)
    return b"\xc7" + bytes([len(body), 2]) + body


def header(kind):
    return bytes([0xC1, 1, kind])


LIST = (b"\x97\x01\xff\xc0\xc3" + b"\xcb" + struct.pack(">d", 1.5)
        + s("a") + b"\xc4\x01\x00")
MAP = b"\x82" + s("k") + b"\x92\x01\x80" + b"\x02" + b"\xc4\x00"

SEEDS = {
    "value_uint16": b"\xcd\x01\x00",
    "value_int64": b"\xd3" + struct.pack(">q", -(2 ** 40)),
    "value_str": s("h\u00e9llo \u20ac"),
    "value_float32": b"\xca" + struct.pack(">f", 0.5),
    "value_list": LIST,
    "value_map": MAP,
    "value_handle": handle(7, 9),
    "value_error": error(0x40000005, "boom", "f <- g"),
    "value_nested": b"\x91\x91\x81" + s("x") + b"\x91\x90",
    "msg_call": header(1) + b"\x01\xc0" + s("square") + b"\x92\x2a" + s("x"),
    "msg_call_target": header(1) + b"\xcc\xc8" + handle(1, 2) + s("m")
    + b"\x91" + MAP,
    "msg_call_context": header(1) + b"\x01\xc0" + s("square") + b"\x91\x2a"
    + b"\x82" + s("request") + s("r-42") + s("deep") + b"\x91" + MAP,
    "msg_return": header(2) + b"\x05" + LIST,
    "msg_error": header(3) + b"\x05" + error(20, "canceled", "f"),
}


def bundle(kind, call_id, pending, messages):
    out = header(kind) + bytes([call_id, pending, len(messages)])
    for m in messages:
        out += b"\xc4" + bytes([len(m)]) + m
    return out


CALL = header(1) + b"\x01\xc0" + s("square") + b"\x91\x2a"
SEEDS["msg_batch"] = bundle(15, 0x7F, 0, [CALL, CALL])
SEEDS["msg_replies"] = bundle(16, 0x7F, 1, [SEEDS["msg_return"]])
SEEDS["msg_fetch"] = header(17) + b"\x03\x7f"

os.makedirs(HERE, exist_ok=True)
for name, data in SEEDS.items():
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)
