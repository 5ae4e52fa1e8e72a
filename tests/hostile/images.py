"""Hostile images, and a hostile scan, built byte by byte (no decoder ever holds their pixels)."""

import io
import struct
import zlib

from PIL import Image


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int = 40_000, height: int = 40_000) -> bytes:
    """A PNG whose header claims 1.6 gigapixels; its data would inflate to gigabytes."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (1 + width) * 64)  # a few rows: the rest is missing
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", rows)
        + _png_chunk(b"IEND", b"")
    )


def png_huge_text_chunk() -> bytes:
    """A 16x16 PNG with a zTXt chunk that inflates to 64 MiB (Pillow caps text chunks)."""
    base = io.BytesIO()
    Image.new("L", (16, 16), 255).save(base, format="PNG")
    data = base.getvalue()
    ztxt = b"Comment\x00\x00" + zlib.compress(b"A" * (64 * 1024 * 1024), 9)
    at = data.index(b"IDAT") - 4
    return data[:at] + _png_chunk(b"zTXt", ztxt) + data[at:]


def truncated_jpeg() -> bytes:
    out = io.BytesIO()
    Image.effect_noise((600, 400), 64).convert("L").save(out, format="JPEG", quality=90)
    data = out.getvalue()
    return data[: len(data) // 3]


def tiff_frames(count: int) -> bytes:
    """A little-endian TIFF with `count` 1x1 frames: one minimal IFD each, all sharing one pixel."""
    entries = 5
    ifd_size = 2 + entries * 12 + 4
    pixel_at = 8
    first_ifd = 10  # after the header and one pixel byte (word-aligned)
    out = bytearray(b"II*\x00" + struct.pack("<I", first_ifd) + b"\xff\x00")
    for index in range(count):
        at = first_ifd + index * ifd_size
        following = at + ifd_size if index + 1 < count else 0
        tags = [
            (256, 3, 1, 1),  # ImageWidth
            (257, 3, 1, 1),  # ImageLength
            (262, 3, 1, 1),  # PhotometricInterpretation: black is zero
            (273, 4, 1, pixel_at),  # StripOffsets
            (279, 4, 1, 1),  # StripByteCounts
        ]
        out += struct.pack("<H", entries)
        for tag, kind, number, value in tags:
            out += struct.pack("<HHII", tag, kind, number, value)
        out += struct.pack("<I", following)
    return bytes(out)


def pdf_with_huge_image(width: int = 30_000, height: int = 30_000) -> bytes:
    """One page, no text, covered by an image that claims 900 megapixels (its data is a few bytes)."""
    data = zlib.compress(b"\x00" * 4096)
    content = b"q 612 0 0 792 0 0 cm /Im0 Do Q"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /XObject << /Im0 5 0 R >> >> "
        b"/Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
        b"/BitsPerComponent 8 /Filter /FlateDecode /Length %d >>\nstream\n"
        % (width, height, len(data))
        + data
        + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
