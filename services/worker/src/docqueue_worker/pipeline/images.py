"""Images as documents (PNG, JPEG, TIFF, WebP): each frame a page, read by OCR.

Every bound is checked before pixels are decoded: Pillow's own bomb limit (`Image.open` refuses
an image over twice `MAX_IMAGE_PIXELS`), the same limit on every further frame of a TIFF, the
page cap on the frame count, and Pillow's caps on text and profile chunks. Frames are converted
to grey and shrunk to the OCR pixel budget before Tesseract sees them.
"""

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

from PIL import Image, UnidentifiedImageError

from docqueue.errors import DocumentError, ErrorCode
from docqueue_worker.pipeline.pdf_checks import check_page_count
from docqueue_worker.pipeline.source import ClosingSource

# Pixels one decoded image (or frame) may have: 150 MP is 150 MB in grey, 450 MB in colour,
# inside the pool process's memory cap. A page of a PDF obeys the same bound (scan.py).
MAX_IMAGE_PIXELS = 150_000_000
# Pillow warns at MAX_IMAGE_PIXELS and refuses at twice that: refuse at ours.
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS // 2

_UNREADABLE = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError)


class ImageSource(ClosingSource):
    """An opened image: its frame count and its frames, ready for OCR."""

    def __init__(self, image: Image.Image, page_count: int) -> None:
        self.image = image
        self.page_count = page_count

    def frames(self, max_pixels: int, first: int = 1, last: int | None = None) -> Iterator[Image.Image]:
        """Frames `first` to `last` (1-based, inclusive; all by default) in grey, at most
        `max_pixels`; a generator, so the caller may stop."""
        for index in range(first - 1, last or self.page_count):
            with image_errors():
                self.image.seek(index)
                check_pixels(*self.image.size)
                frame = self.image.convert("L")
            yield shrink(frame, max_pixels)

    def close(self) -> None:
        self.image.close()


def open_image(stream: BinaryIO, max_pages: int) -> ImageSource:
    with image_errors():
        image = Image.open(stream)
        check_pixels(*image.size)
        page_count = getattr(image, "n_frames", 1)
    source = ImageSource(image, page_count)
    try:
        check_page_count(page_count, max_pages)
    except BaseException:
        source.close()
        raise
    return source


def check_pixels(width: int, height: int) -> None:
    if width * height > MAX_IMAGE_PIXELS:
        raise DocumentError(
            ErrorCode.DOCUMENT_TOO_COMPLEX,
            f"a {width}x{height} px image is more than the {MAX_IMAGE_PIXELS} px one page may decode",
        )


def shrink(image: Image.Image, max_pixels: int) -> Image.Image:
    width, height = image.size
    if width * height <= max_pixels:
        return image
    factor = math.sqrt(max_pixels / (width * height))
    return image.resize((max(1, int(width * factor)), max(1, int(height * factor))))


@contextmanager
def image_errors() -> Iterator[None]:
    """Pillow's refusals as docqueue's permanent codes."""
    try:
        yield
    except DocumentError:
        raise
    except (Image.DecompressionBombError, MemoryError) as exc:
        raise DocumentError(ErrorCode.DOCUMENT_TOO_COMPLEX, f"the image is too large: {exc}") from exc
    except _UNREADABLE as exc:
        raise DocumentError(ErrorCode.CORRUPT_DOCUMENT, f"the image cannot be read: {exc}") from exc
