"""Which PDF pages are scans, and how they are rendered for OCR (PDFium, whatever engine reads
the text layer).

`auto` OCRs a page only when its text layer yields (almost) no text while the page carries drawn
content: images covering much of it, or many vector paths (text drawn as glyph outlines). A page
with a real text layer never gets here, so `auto` costs a text-only PDF nothing but a length check.
Every embedded image is measured before a page is rendered: PDFium decodes an image whole, so a
30000 x 30000 px image would exhaust the pool process's memory cap (an abort in C++, not an
exception); such a page is refused as `document_too_complex` instead.
"""

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from docqueue.errors import DocumentError, ErrorCode

if TYPE_CHECKING:
    from PIL import Image

# A text layer with fewer visible characters than this counts as empty (page numbers, stray marks).
MIN_TEXT_CHARS = 16
# Images covering at least this share of the page make it a scan.
MIN_IMAGE_COVER = 0.3
# Or this many path objects: text drawn as glyph outlines (a vectorised scan, some exports).
MIN_PATHS = 200
# Page objects looked at per page (a hostile page may hold millions).
MAX_OBJECTS = 20_000


def text_layer_is_empty(text: str) -> bool:
    return sum(1 for ch in text if not ch.isspace()) < MIN_TEXT_CHARS


@dataclass(frozen=True)
class Drawing:
    """What a page draws besides text, from one walk over its objects."""

    scanned: bool  # images over much of the page, or many vector paths
    largest_image: tuple[int, int]  # pixel size of its largest embedded image


def survey(page: pdfium.PdfPage) -> Drawing:
    width, height = page.get_size()
    area = max(width * height, 1.0)
    covered, paths, largest = 0.0, 0, (0, 0)
    for count, obj in enumerate(page.get_objects(max_depth=2)):
        if count >= MAX_OBJECTS:
            break
        if obj.type == pdfium_c.FPDF_PAGEOBJ_IMAGE and isinstance(obj, pdfium.PdfImage):
            left, bottom, right, top = obj.get_bounds()
            covered += max(0.0, right - left) * max(0.0, top - bottom)
            size = obj.get_px_size()
            if size[0] * size[1] > largest[0] * largest[1]:
                largest = size
        elif obj.type == pdfium_c.FPDF_PAGEOBJ_PATH:
            paths += 1
    return Drawing(covered >= MIN_IMAGE_COVER * area or paths >= MIN_PATHS, largest)


def check_images(drawing: Drawing, max_image_pixels: int) -> None:
    """Refuse a page whose embedded image would not fit in memory once decoded."""
    width, height = drawing.largest_image
    if width * height > max_image_pixels:
        raise DocumentError(
            ErrorCode.DOCUMENT_TOO_COMPLEX,
            f"a page holds a {width}x{height} px image, more than the "
            f"{max_image_pixels} px one page may decode",
        )


def render(page: pdfium.PdfPage, dpi: int, max_pixels: int) -> "Image.Image":
    """The page in grey at `dpi`, or at the DPI that fits `max_pixels`."""
    width_pt, height_pt = page.get_size()
    scale = dpi / 72
    pixels = width_pt * height_pt * scale * scale
    if pixels > max_pixels:
        scale *= math.sqrt(max_pixels / pixels)
    bitmap = page.render(scale=scale, grayscale=True)
    try:
        image: Image.Image = bitmap.to_pil()
        image.load()
        return image.copy()
    finally:
        bitmap.close()
