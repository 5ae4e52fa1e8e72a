"""The result document a worker stores and the API serves: written once per job."""

from pydantic import BaseModel


class DocumentInfo(BaseModel):
    filename: str
    media_type: str
    sha256: str
    page_count: int
    title: str | None = None
    author: str | None = None


class Page(BaseModel):
    number: int
    text: str


class Chunk(BaseModel):
    """A retrieval chunk. `char_start`/`char_end` index the document text: the pages' texts joined
    by a blank line ("\\n\\n"), so `text == document_text[char_start:char_end]`."""

    index: int
    text: str
    page_start: int
    page_end: int
    char_start: int
    char_end: int


class Result(BaseModel):
    task_id: str
    document: DocumentInfo
    pages: list[Page]
    chunks: list[Chunk]
