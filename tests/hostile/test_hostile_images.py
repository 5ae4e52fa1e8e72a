"""Hostile images and scans through the real worker: each ends in its documented code within its
bound, the pool process survives (or is replaced) under its memory cap, the next document succeeds.
(docs/security.md lists the same table.)"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest

from tests.hostile import images
from tests.hostile.conftest import MAX_MEMORY_MB, MIB, HostileStack
from tests.hostile.test_hostile_pdfs import peak_rss_mb, pool_pids, seconds, wait_all
from tests.support.documents import make_pdf, page_text
from tests.support.scans import image_file, page_images, recall


@dataclass(frozen=True)
class Case:
    build: Callable[[], bytes]
    filename: str
    code: str
    bound_s: float


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
        ids = {}
        for name, case in CORPUS.items():
            response = api.post("/v1/documents", files={"file": (case.filename, case.build())})
            assert response.status_code == 202, (name, response.text)
            ids[name] = response.json()["task_id"]
        tasks = wait_all(api, ids, timeout_s=sum(case.bound_s for case in CORPUS.values()) + 60)
        outcomes = {name: (task["state"], (task["error"] or {}).get("code")) for name, task in tasks.items()}
        assert outcomes == {name: ("failed", case.code) for name, case in CORPUS.items()}
        for name, case in CORPUS.items():
            took_s = seconds(tasks[name], "started_at", "finished_at")
            assert took_s <= case.bound_s, f"{name} took {took_s:.1f}s (bound {case.bound_s}s)"
        peaks = [peak_rss_mb(pid) for pid in pool_pids(hostile.worker.pid)]
        assert peaks, "no pool process found"
        assert max(peaks) < MAX_MEMORY_MB, peaks

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
