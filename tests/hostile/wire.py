"""Multipart bodies and HTTP/1.1 requests built byte by byte, so a test can send what no client would."""

import select
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

BOUNDARY = "hostile-boundary-7MA4YWxkTrZu0gW"


def part(name: str, data: bytes, filename: bytes | str | None = None, extra: Iterable[bytes] = ()) -> bytes:
    disposition = b'Content-Disposition: form-data; name="' + name.encode() + b'"'
    if filename is not None:
        raw = filename.encode() if isinstance(filename, str) else filename
        disposition += b'; filename="' + raw + b'"'
    lines = [disposition, b"Content-Type: application/octet-stream", *extra]
    return b"\r\n".join(lines) + b"\r\n\r\n" + data


def multipart(parts: Iterable[bytes], boundary: str = BOUNDARY) -> bytes:
    mark = b"--" + boundary.encode()
    out = b"".join(mark + b"\r\n" + item + b"\r\n" for item in parts)
    return out + mark + b"--\r\n"


def content_type(boundary: str = BOUNDARY) -> str:
    return f"multipart/form-data; boundary={boundary}"


@dataclass
class RawAnswer:
    status: int
    headers: dict[str, str]
    body: bytes
    body_bytes_sent: int
    elapsed_s: float
    closed_early: bool = False
    notes: list[str] = field(default_factory=list)


def send_raw(
    url: str,
    path: str,
    headers: dict[str, str],
    chunks: Iterable[bytes],
    *,
    chunked: bool,
    timeout_s: float = 20.0,
) -> RawAnswer:
    """POST `chunks` and stop sending as soon as the server answers or hangs up."""
    target = urlsplit(url)
    started = time.monotonic()
    sock = socket.create_connection((target.hostname, target.port), timeout=timeout_s)
    head = [f"POST {path} HTTP/1.1", f"Host: {target.hostname}:{target.port}", "Connection: close"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    if chunked:
        head.append("Transfer-Encoding: chunked")
    sent = 0
    closed_early = False
    try:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        for chunk in chunks:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                closed_early = True
                break
            framed = b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk
            sock.sendall(framed)
            sent += len(chunk)
        else:
            if chunked:
                sock.sendall(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError, TimeoutError):
        closed_early = True
    try:
        raw = _read_response(sock, timeout_s)
    finally:
        sock.close()
    status, answer_headers, body = _parse(raw)
    return RawAnswer(status, answer_headers, body, sent, time.monotonic() - started, closed_early)


def _read_response(sock: socket.socket, timeout_s: float) -> bytes:
    sock.settimeout(timeout_s)
    data = b""
    while True:
        try:
            piece = sock.recv(65536)
        except ConnectionResetError:
            break
        if not piece:
            break
        data += piece
        if b"\r\n\r\n" in data:
            head, _, body = data.partition(b"\r\n\r\n")
            length = next(
                (
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ),
                None,
            )
            if length is not None and len(body) >= length:
                break
    return data


def _parse(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    if not raw:
        return 0, {}, b""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body
