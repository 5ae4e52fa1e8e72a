"""The baselines docqueue's API is measured against, as one minimal FastAPI app.

- POST /upload: what any upload endpoint must do at least: take a multipart file (FastAPI's
  UploadFile), save it to disk and LPUSH a message naming it. No auth, no checks, no job record.
- POST /extract: the synchronous alternative to a queue: read the PDF's text in the request
  (pypdf or pdfium, page by page, in a worker thread) and answer with it.
Run by bench/stack.py under the same uvicorn (uvloop, httptools) as docqueue's API.
"""

import json
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import pypdfium2 as pdfium
import redis.asyncio as aioredis
from fastapi import FastAPI, Form, UploadFile
from fastapi.concurrency import run_in_threadpool
from pypdf import PdfReader

from docqueue.redis_url import resolve_redis_url

QUEUE = "bench:uploads"
BLOB_DIR = Path(os.environ["BENCH_BLOB_DIR"])


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    BLOB_DIR.mkdir(parents=True, exist_ok=True)
    app.state.redis = aioredis.Redis.from_url(resolve_redis_url().url)
    yield
    await app.state.redis.aclose()


app = FastAPI(lifespan=lifespan)


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


def _save(file: UploadFile, path: Path) -> None:
    with path.open("wb") as out:
        shutil.copyfileobj(file.file, out, 1024 * 1024)


@app.post("/upload", status_code=202)
async def upload(file: UploadFile) -> dict[str, str]:
    task_id = uuid.uuid4().hex
    await run_in_threadpool(_save, file, BLOB_DIR / task_id)
    await app.state.redis.lpush(QUEUE, json.dumps({"task_id": task_id, "filename": file.filename}))
    return {"task_id": task_id}


def extract_pypdf(path: Path) -> list[str]:
    return [page.extract_text() for page in PdfReader(path).pages]


def extract_pdfium(path: Path) -> list[str]:
    document = pdfium.PdfDocument(path)
    try:
        texts = []
        for index in range(len(document)):
            page = document[index]
            textpage = page.get_textpage()
            texts.append(textpage.get_text_range())
            textpage.close()
            page.close()
        return texts
    finally:
        document.close()


@app.post("/extract")
async def extract(file: UploadFile, engine: Annotated[str, Form()] = "pypdf") -> dict[str, Any]:
    path = BLOB_DIR / uuid.uuid4().hex
    await run_in_threadpool(_save, file, path)
    try:
        reader = extract_pdfium if engine == "pdfium" else extract_pypdf
        texts = await run_in_threadpool(reader, path)
    finally:
        path.unlink(missing_ok=True)
    return {"pages": [{"number": n, "text": text} for n, text in enumerate(texts, start=1)]}
