"""GET / and its two assets. Files are named here, never taken from the URL."""

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

router = APIRouter(include_in_schema=False)

STATIC_DIR = Path(__file__).parent / "static"
# The page may load only its own script and styles and talk only to this API: it works offline
# and nothing injected can phone home.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "Cache-Control": "no-cache",
}


def _file(name: str, media_type: str) -> FileResponse:
    return FileResponse(STATIC_DIR / name, media_type=media_type, headers=PAGE_HEADERS)


@router.get("/")
async def upload_page() -> FileResponse:
    return _file("index.html", "text/html; charset=utf-8")


@router.get("/ui/app.js")
async def page_script() -> FileResponse:
    return _file("app.js", "text/javascript; charset=utf-8")


@router.get("/ui/app.css")
async def page_styles() -> FileResponse:
    return _file("app.css", "text/css; charset=utf-8")
