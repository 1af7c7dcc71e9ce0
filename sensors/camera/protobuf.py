"""Protocol-buffer wire format, just enough to read a TensorFlow GraphDef's nodes and to
write small ONNX / GraphDef messages (the ssdlite loader; the dnn tests' tiny model).
No dependencies: cv2 needs none of protobuf's machinery for this."""

from collections.abc import Iterator


def read_varint(data: bytes, i: int) -> tuple[int, int]:
    n = shift = 0
    while True:
        c = data[i]
        i += 1
        n |= (c & 0x7F) << shift
        shift += 7
        if c < 0x80:
            return n, i


def fields(data: bytes) -> Iterator[tuple[int, int | bytes]]:
    """(field number, value) of each field of one message, in order."""
    i = 0
    while i < len(data):
        key, i = read_varint(data, i)
        number, kind = key >> 3, key & 7
        if kind == 0:
            value, i = read_varint(data, i)
        elif kind == 2:
            length, i = read_varint(data, i)
            value, i = data[i : i + length], i + length
        elif kind in (1, 5):
            step = 8 if kind == 1 else 4
            value, i = data[i : i + step], i + step
        else:
            raise ValueError(f"unsupported protobuf wire type {kind}")
        yield number, value


def varint(n: int) -> bytes:
    out = b""
    while True:
        low, n = n & 0x7F, n >> 7
        if not n:
            return out + bytes([low])
        out += bytes([low | 0x80])


def field(number: int, payload: int | bytes | str) -> bytes:
    """One field: a varint for an int, length-delimited bytes for bytes or str."""
    if isinstance(payload, int):
        return varint(number << 3) + varint(payload)
    data = payload.encode() if isinstance(payload, str) else payload
    return varint((number << 3) | 2) + varint(len(data)) + data
