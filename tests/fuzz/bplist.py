"""A small binary plist writer that can write what plistlib's writer cannot.

A binary plist is a table of objects that refer to each other by index, so a hostile body can
share one object many times (a few hundred bytes that expand exponentially), refer to itself
(a cycle) or nest thousands deep. plistlib reads all of these; this module writes them.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

MAGIC = b"bplist00"


@dataclass(frozen=True)
class Array:
    refs: Sequence[int]


@dataclass(frozen=True)
class Dict:
    items: Sequence[tuple[int, int]]
    """(key ref, value ref) pairs."""


Obj = Array | Dict | str | bytes | bool | int | float


def _length(marker: int, n: int) -> bytes:
    if n < 15:
        return bytes([marker | n])
    return bytes([marker | 0x0F]) + _int(n)


def _int(n: int) -> bytes:
    return b"\x13" + n.to_bytes(8, "big", signed=True)


def _encode(obj: Obj, ref_size: int) -> bytes:
    refs: Sequence[int]
    if isinstance(obj, bool):
        return b"\x09" if obj else b"\x08"
    if isinstance(obj, int):
        return _int(obj)
    if isinstance(obj, float):
        return b"\x23" + struct.pack(">d", obj)
    if isinstance(obj, bytes):
        return _length(0x40, len(obj)) + obj
    if isinstance(obj, str):
        if obj.isascii():
            return _length(0x50, len(obj)) + obj.encode("ascii")
        utf16 = obj.encode("utf-16-be", "surrogatepass")
        return _length(0x60, len(utf16) // 2) + utf16
    if isinstance(obj, Array):
        refs = obj.refs
        return _length(0xA0, len(refs)) + b"".join(r.to_bytes(ref_size, "big") for r in refs)
    keys = [k for k, _ in obj.items]
    values = [v for _, v in obj.items]
    refs = [*keys, *values]
    return _length(0xD0, len(keys)) + b"".join(r.to_bytes(ref_size, "big") for r in refs)


def write(objects: Sequence[Obj], top: int = 0) -> bytes:
    """The binary plist of ``objects`` (referring to each other by index), rooted at ``top``."""
    ref_size = 1 if len(objects) < 2**8 else 2 if len(objects) < 2**16 else 4
    out = bytearray(MAGIC)
    offsets = []
    for obj in objects:
        offsets.append(len(out))
        out += _encode(obj, ref_size)
    table_at = len(out)
    offset_size = 4
    for offset in offsets:
        out += offset.to_bytes(offset_size, "big")
    out += bytes(6) + bytes([offset_size, ref_size])
    out += struct.pack(">QQQ", len(objects), top, table_at)
    return bytes(out)


def _root(top_keys: dict[str, Obj] | None, name: str) -> list[Obj]:
    """Objects of a top dictionary holding ``top_keys`` and ``name``, whose value is the object
    appended next."""
    items: list[tuple[int, int]] = []
    objects: list[Obj] = [Dict(items)]
    for key, value in (top_keys or {}).items():
        objects += [key, value]
        items.append((len(objects) - 2, len(objects) - 1))
    objects.append(name)
    items.append((len(objects) - 1, len(objects)))
    return objects


def nested(depth: int, leaf: Obj = "leaf", top_keys: dict[str, Obj] | None = None) -> bytes:
    """A dictionary (``top_keys`` plus ``Deep``) whose ``Deep`` nests ``depth`` arrays."""
    objects = _root(top_keys, "Deep")
    first = len(objects)
    objects += [Array([first + level + 1]) for level in range(depth)]
    objects.append(leaf)
    return write(objects)


def shared(levels: int, fan_out: int, top_keys: dict[str, Obj] | None = None) -> bytes:
    """A dictionary whose ``Bomb`` is ``levels`` arrays deep, each of ``fan_out`` references to
    the same next array: a few bytes that expand to ``fan_out ** levels`` leaves."""
    objects = _root(top_keys, "Bomb")
    first = len(objects)
    objects += [Array([first + level + 1] * fan_out) for level in range(levels)]
    objects.append(1)
    return write(objects)


def cyclic(top_keys: dict[str, Obj] | None = None) -> bytes:
    """A dictionary whose ``Loop`` is an array that contains itself."""
    objects = _root(top_keys, "Loop")
    objects.append(Array([len(objects)]))
    return write(objects)
