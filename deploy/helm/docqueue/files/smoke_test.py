"""`helm test`: upload a tiny PDF through the API Service and wait until it has `succeeded`.

Runs in the API image (standard library plus docqueue's core package): it creates a short-lived
API key directly in Redis, uses it, and revokes it whatever happens.
"""

import json
import os
import sys
import time
import urllib.request
import uuid
from typing import Any

from docqueue.auth import Scope, generate_api_key, hash_api_key, revoke_api_key, store_api_key
from docqueue.redis_url import redis_client, resolve_redis_url

PHRASE = "docqueue helm test"
TERMINAL = {"succeeded", "failed", "cancelled", "dead_lettered"}


def tiny_pdf(text: str) -> bytes:
    """A one-page PDF showing `text`, with a correct cross-reference table."""
    content = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792]"
        b" /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length " + str(len(content)).encode() + b" >>\nstream\n" + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref_at = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref_at}\n".encode()
    return bytes(out + b"%%EOF\n")


def request(method: str, url: str, key: str, body: bytes | None = None, content_type: str = "") -> Any:
    headers = {"Authorization": f"Bearer {key}"}
    if content_type:
        headers["Content-Type"] = content_type
    req = urllib.request.Request(url, data=body, method=method, headers=headers)  # noqa: S310 - our own Service
    with urllib.request.urlopen(req, timeout=30) as answer:  # noqa: S310
        return json.loads(answer.read())


def upload(api: str, key: str, data: bytes) -> str:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="helm-test.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    accepted = request("POST", f"{api}/v1/documents", key, body, f"multipart/form-data; boundary={boundary}")
    return str(accepted["task_id"])


def main() -> None:
    api = os.environ["DOCQUEUE_API_URL"].rstrip("/")
    timeout_s = float(os.environ.get("DOCQUEUE_TEST_TIMEOUT_S", "300"))
    # Through Sentinel too (the chart's sentinel modes give a redis+sentinel:// URL).
    client = redis_client(resolve_redis_url().url, os.environ.get("DOCQUEUE_REDIS_SENTINEL_PASSWORD"))
    key = generate_api_key()
    store_api_key(client, key, "helm-test", {Scope.SUBMIT, Scope.READ}, name="helm test")
    try:
        task_id = upload(api, key, tiny_pdf(PHRASE))
        print(f"uploaded: task {task_id}", flush=True)
        deadline = time.monotonic() + timeout_s
        while True:
            task = request("GET", f"{api}/v1/tasks/{task_id}", key)
            if task["state"] in TERMINAL or time.monotonic() > deadline:
                break
            time.sleep(2)
        if task["state"] != "succeeded":
            sys.exit(f"task {task_id} is {task['state']} (error: {task.get('error')}), expected succeeded")
        result = request("GET", f"{api}/v1/tasks/{task_id}/result", key)
        text = " ".join(page["text"] for page in result["pages"])
        if PHRASE not in text:
            sys.exit(f"the result does not contain the uploaded text: {text!r}")
        print(f"succeeded: {result['document']['page_count']} page(s), text found", flush=True)
    finally:
        revoke_api_key(client, hash_api_key(key))


if __name__ == "__main__":
    main()
