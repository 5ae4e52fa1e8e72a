"""Tesseract through tesserocr: its C API in this process (no subprocess and no image file per
page), one engine per pool process and language set, reused page after page.

The language data comes from the system (Debian's tesseract-ocr-<lang> packages): nothing is
ever downloaded. `DOCQUEUE_OCR_INSTALLED_LANGUAGES` names what a worker must carry; it refuses to
start without them (`check_installed`).
"""

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from PIL import Image

# Where Debian (and most distributions) put the language data; TESSDATA_PREFIX wins.
TESSDATA_DIRS = (
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
)
# Orientation and script detection, not a language.
NOT_LANGUAGES = frozenset({"osd", "equ"})


class OcrText(NamedTuple):
    text: str
    # Tesseract's mean word confidence, 0 to 1.
    confidence: float


class OcrUnavailable(RuntimeError):
    """Tesseract or the language data this worker must carry is missing."""


def tessdata_dir() -> Path | None:
    given = os.environ.get("TESSDATA_PREFIX")
    candidates = [given] if given else list(TESSDATA_DIRS)
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None


def installed_languages() -> frozenset[str]:
    directory = tessdata_dir()
    if directory is None:
        return frozenset()
    return frozenset(path.stem for path in directory.glob("*.traineddata")) - NOT_LANGUAGES


def check_installed(required: frozenset[str]) -> None:
    """Refuse to run a worker that lacks Tesseract or a language the API accepts uploads for."""
    try:
        import tesserocr  # noqa: F401
    except ImportError as exc:
        raise OcrUnavailable("tesserocr is not installed (the worker's `ocr` extra)") from exc
    missing = required - installed_languages()
    if missing:
        raise OcrUnavailable(
            f"Tesseract language data missing for {', '.join(sorted(missing))} in "
            f"{tessdata_dir() or 'no tessdata directory'} (DOCQUEUE_OCR_INSTALLED_LANGUAGES)"
        )


class Tesseract:
    """One tesserocr engine per language set, kept for the life of the pool process."""

    def __init__(self) -> None:
        # tesserocr.PyTessBaseAPI per language set (tesserocr ships no type information).
        self._engines: dict[str, Any] = {}

    def read(self, image: "Image.Image", languages: str) -> OcrText:
        engine = self._engine(languages)
        engine.SetImage(image)
        try:
            text: str = engine.GetUTF8Text()
            confidence = max(0, engine.MeanTextConf()) / 100
        finally:
            engine.Clear()
        return OcrText(text, confidence if text.strip() else 0.0)

    def _engine(self, languages: str) -> Any:
        if languages not in self._engines:
            import tesserocr

            directory = tessdata_dir()
            if directory is None:
                raise OcrUnavailable("no Tesseract language data directory")
            self._engines[languages] = tesserocr.PyTessBaseAPI(path=f"{directory}/", lang=languages)
        return self._engines[languages]


# One per pool process: creating an engine loads its language models (tens of MB, ~0.1 s).
TESSERACT = Tesseract()
