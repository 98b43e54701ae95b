"""Customer photo rules that need no AWS: which images are accepted, and checking that the bytes
of an upload really are one.

The header of each format is parsed here rather than through an imaging library: the three
formats' headers are small and fixed, and the API function's package and cold start stay as
they are. The checks are the ones a decoder would fail first: the signature, the dimensions
the header declares (within bounds) and the structure's end (a truncated upload is refused).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

# The types an upload may declare, with the file extension of each.
CONTENT_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
MAX_BYTES = 5 * 1024 * 1024
MAX_SIDE = 10_000
# Beyond this a small file can still decode into gigabytes (a "decompression bomb").
MAX_PIXELS = 40_000_000

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"
# Start-of-frame markers (baseline, progressive, lossless, arithmetic): they carry the size.
_JPEG_FRAMES = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # not DHT, JPG, DAC
# Markers that stand alone, without a length: TEM, RST0-7.
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})


class NotAnImage(ValueError):
    """The bytes are not an image of the declared type (the message says why)."""


@dataclass(frozen=True)
class ImageInfo:
    content_type: str
    width: int
    height: int


def sniff(data: bytes) -> str | None:
    """The type the bytes' signature says, or None."""
    if data.startswith(_PNG_SIGNATURE):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def inspect(data: bytes, declared: str) -> ImageInfo:
    """The image the bytes hold, checked against the declared type. Raises NotAnImage."""
    if not data:
        raise NotAnImage("the upload is empty")
    if len(data) > MAX_BYTES:
        raise NotAnImage(f"the upload is larger than {MAX_BYTES} bytes")
    found = sniff(data)
    if found is None:
        raise NotAnImage("the upload is not a JPEG, PNG or WebP image")
    if found != declared:
        raise NotAnImage(f"the upload was declared {declared} but is {found}")
    try:
        width, height = _PARSERS[found](data)
    except (struct.error, IndexError):
        raise NotAnImage(f"the upload is not a complete {found} image") from None
    if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE):
        raise NotAnImage(f"the image must be 1 to {MAX_SIDE} pixels wide and high")
    if width * height > MAX_PIXELS:
        raise NotAnImage(f"the image must have at most {MAX_PIXELS} pixels")
    return ImageInfo(found, width, height)


def _png(data: bytes) -> tuple[int, int]:
    # The first chunk is always IHDR: length 13, then width and height (big-endian).
    length, kind = struct.unpack(">I4s", data[8:16])
    if kind != b"IHDR" or length != 13:
        raise NotAnImage("the PNG has no header chunk")
    if not data.endswith(_PNG_END):
        raise NotAnImage("the upload is not a complete image/png image")
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def _jpeg(data: bytes) -> tuple[int, int]:
    # Walk the marker segments after SOI until a start-of-frame gives the size.
    if not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
        raise NotAnImage("the upload is not a complete image/jpeg image")
    at = 2
    while True:
        if data[at] != 0xFF:
            raise NotAnImage("the JPEG's markers are broken")
        while data[at] == 0xFF:  # fill bytes may pad a marker
            at += 1
        marker = data[at]
        at += 1
        if marker in _JPEG_STANDALONE:
            continue
        if marker in (0xD9, 0xDA):  # end of image or start of scan before any frame
            raise NotAnImage("the JPEG has no frame header")
        (length,) = struct.unpack(">H", data[at : at + 2])
        if length < 2:
            raise NotAnImage("the JPEG's markers are broken")
        if marker in _JPEG_FRAMES:
            height, width = struct.unpack(">HH", data[at + 3 : at + 7])
            return int(width), int(height)
        at += length


def _webp(data: bytes) -> tuple[int, int]:
    (riff_size,) = struct.unpack("<I", data[4:8])
    if riff_size + 8 != len(data) and riff_size + 9 != len(data):  # one pad byte allowed
        raise NotAnImage("the upload is not a complete image/webp image")
    chunk = data[12:16]
    body = data[20:]
    if chunk == b"VP8 ":  # lossy: a key frame's start code, then 14-bit sizes
        if body[3:6] != b"\x9d\x01\x2a":
            raise NotAnImage("the WebP frame header is broken")
        width, height = struct.unpack("<HH", body[6:10])
        return int(width) & 0x3FFF, int(height) & 0x3FFF
    if chunk == b"VP8L":  # lossless: a signature byte, then 14-bit sizes minus one
        if body[0] != 0x2F:
            raise NotAnImage("the WebP frame header is broken")
        (bits,) = struct.unpack("<I", body[1:5])
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":  # extended: the canvas size, 24-bit sizes minus one
        width = int.from_bytes(body[4:7], "little") + 1
        height = int.from_bytes(body[7:10], "little") + 1
        return width, height
    raise NotAnImage("the WebP has no frame header")


_PARSERS = {"image/png": _png, "image/jpeg": _jpeg, "image/webp": _webp}
