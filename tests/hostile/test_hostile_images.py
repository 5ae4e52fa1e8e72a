"""Hostile images and scans through the real worker: each ends in its documented code within its
bound, the pool process survives (or is replaced) under its memory cap, the next document succeeds.
(docs/security.md lists the same table.)"""

import uuid

import httpx
import pytest

from tests.hostile import images
from tests.hostile.conftest import MIB, HostileStack
from tests.hostile.corpus import Case, run_contained
from tests.hostile.test_hostile_pdfs import wait_all
from tests.support.documents import make_pdf, page_text
from tests.support.scans import image_file, page_images, recall

CORPUS: dict[str, Case] = {
    "40000x40000 px PNG (decompression bomb)": Case(images.png_bomb, "bomb.png", "document_too_complex", 10),
    "PDF page covered by a 30000x30000 px image": Case(
        images.pdf_with_huge_image, "scan.pdf", "document_too_complex", 10
    ),
    "TIFF with 20 000 frames": Case(lambda: images.tiff_frames(20_000), "fax.tif", "too_many_pages", 20),
    "truncated JPEG": Case(images.truncated_jpeg, "photo.jpg", "corrupt_document", 10),
    "PNG with a zTXt chunk inflating to 64 MiB": Case(
        images.png_huge_text_chunk, "text.png", "corrupt_document", 10
    ),
}


@pytest.mark.timeout(300)
def test_hostile_images_are_contained(hostile: HostileStack) -> None:
    # The 20 000-frame TIFF is 1.3 MB: an API of the same stack with a larger upload cap.
    url = hostile.start_api({"DOCQUEUE_MAX_UPLOAD_BYTES": str(4 * MIB)})
    with hostile.client(url=url) as api:
        run_contained(api, hostile, CORPUS)

        # The next document, a scan, is read.
        original = f"{uuid.uuid4().hex[:6]} {page_text(1, words=60)}"
        scan = image_file(page_images(make_pdf(1, lambda _: original)), "PNG")
        task_id = api.post("/v1/documents", files={"file": ("next.png", scan)}).json()["task_id"]
        after = wait_all(api, {"next": task_id}, timeout_s=60)["next"]
        assert after["state"] == "succeeded"
        result = api.get(f"/v1/tasks/{task_id}/result").json()
        assert recall(original, result["pages"][0]["text"]) >= 0.9


def test_hostile_image_options_are_refused(hostile_api: httpx.Client) -> None:
    data = image_file(page_images(make_pdf(1)), "PNG")
    for languages in ("xyz", "eng+klingon", "ENG", "eng+", "../../etc/passwd"):
        answer = hostile_api.post(
            "/v1/documents", files={"file": ("a.png", data)}, data={"ocr_languages": languages}
        )
        assert answer.status_code == 422, (languages, answer.text)
        assert answer.json()["code"] == "validation_error"
