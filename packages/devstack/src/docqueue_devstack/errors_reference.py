"""docs/reference/errors.md, written from docqueue.errors so the page cannot drift.

`make docs-reference` writes it; tests/docs checks the committed page is current.
"""

import sys

from docqueue.errors import PERMANENT_CODES, ErrorCode, ProblemCode


def render() -> str:
    out = [
        "# Error codes",
        "",
        "Generated from `docqueue.errors` by `make docs-reference` (do not edit by hand).",
        "",
        "## On a task (`error.code` of a task's status)",
        "",
        "| code | ends the task as | meaning |",
        "|---|---|---|",
    ]
    for code in ErrorCode:
        if code in PERMANENT_CODES:
            state = "failed (permanent)"
        elif code == ErrorCode.CANCELLED:
            state = "cancelled"
        else:
            state = "dead_lettered (operational, replayable)"
        out.append(f"| `{code.value}` | {state} | {MEANINGS.get(code.value, '')} |")
    out += [
        "",
        "## On a request (`code` of an `application/problem+json` answer)",
        "",
        ProblemCode.__doc__.split("\n\n", 1)[1].strip().replace("\n    ", " ") if ProblemCode.__doc__ else "",
        "",
        "| code |",
        "|---|",
        *(f"| `{code.value}` |" for code in ProblemCode),
    ]
    return "\n".join(out) + "\n"


MEANINGS = {
    "unsupported_type": "the worker's reader does not take these bytes",
    "empty_document": "the document has no pages",
    "corrupt_document": "the file cannot be read",
    "encrypted_document": "the PDF needs a password",
    "too_many_pages": "more pages (or image frames) than `DOCQUEUE_MAX_PAGES`",
    "document_too_complex": "a parsing, decoding or memory limit was reached (bombs, huge images)",
    "source_refused": "the `source_url` (or a redirect of it) breaks the URL rules, or redirects too often",
    "source_unresolvable": "the `source_url`'s host has no address",
    "source_not_found": "the source answered 404 or 410; no such S3 object or bucket",
    "source_forbidden": "the source answered 401, 403 or 407; S3 refused access",
    "source_too_large": "the source declared or sent more than `DOCQUEUE_MAX_UPLOAD_BYTES`",
    "source_timeout": "the source was still sending after `DOCQUEUE_SOURCE_MAX_FETCH_S`",
    "source_failed": "the source gave another final answer (400, 405, 501...)",
    "timeout": "processing took longer than the soft time limit",
    "worker_lost": "deliveries kept ending without an outcome (`DOCQUEUE_MAX_ATTEMPTS`)",
    "retries_exhausted": "a transient failure outlasted the retries",
    "internal_error": "an unexpected error; the traceback is in the dead letter",
    "cancelled": "the caller cancelled the task",
}


if __name__ == "__main__":
    sys.stdout.write(render())
