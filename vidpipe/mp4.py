"""Recognise an MP4 by its content (the `ftyp` box), not by its name.

This only tells MP4 from other files; whether the video decodes is for the transcode job's probe.
Hand-written because it is a dozen lines and a media library would be a heavy API dependency.
"""

from __future__ import annotations

import struct

# ISO base media brands that denote MP4 (QuickTime's "qt  " is a different container).
MP4_BRANDS = {
    b"isom",
    b"iso2",
    b"iso3",
    b"iso4",
    b"iso5",
    b"iso6",
    b"iso7",
    b"iso8",
    b"iso9",
    b"mp41",
    b"mp42",
    b"avc1",
    b"M4V ",
    b"M4VP",
    b"dash",
    b"mmp4",
    b"MSNV",
    b"f4v ",
}
HEAD_BYTES = 64


def is_mp4(head: bytes) -> bool:
    """True when `head` (the file's first bytes) starts with an ftyp box naming an MP4 brand."""
    if len(head) < 12 or head[4:8] != b"ftyp":
        return False
    (box_size,) = struct.unpack(">I", head[:4])
    if box_size < 16 and box_size != 0:
        return False
    end = min(len(head), box_size or len(head))
    brands = [head[8:12]] + [head[i : i + 4] for i in range(16, end - 3, 4)]
    return any(brand in MP4_BRANDS for brand in brands)
