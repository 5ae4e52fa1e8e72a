"""Office, web and e-book documents: the readers keep every word the test wrote, the headings, lists
and tables as Markdown, titles and page rules; then each format through the real worker."""

import io
import zipfile

import httpx
import pytest

from docqueue.errors import DocumentError, ErrorCode
from docqueue.jobs.model import Stage
from docqueue.media import MediaType
from docqueue.results import Page
from docqueue.settings import Settings
from docqueue_worker.pipeline.formats.office import CellBudget, sheet_rows
from docqueue_worker.pipeline.run import read_document
from tests.support import formats
from tests.support.formats import OUTLINE, TITLE, Section, outline_words
from tests.support.http import upload, wait_terminal
from tests.support.scans import recall


class Recorded:
    """Where the pure reader tests let the pipeline report (no Redis involved)."""

    def __init__(self) -> None:
        self.totals: list[int | None] = []
        self.done: list[int] = []

    def stage(self, stage: Stage, pages_total: int | None = None) -> None:
        self.totals.append(pages_total)

    def page_done(self, pages_done: int, method: str = "text") -> None:
        self.done.append(pages_done)


def read(data: bytes, filename: str) -> tuple[list[Page], str | None, MediaType]:
    progress = Recorded()
    pages, title, _, media_type = read_document(io.BytesIO(data), filename, progress, Settings())
    assert progress.totals == [len(pages)]
    assert progress.done == [len(pages)]
    return pages, title, media_type


def joined(pages: list[Page], field: str = "text") -> str:
    return "\n\n".join(getattr(page, field) for page in pages)


@pytest.mark.parametrize(
    ("build", "filename"),
    [
        (formats.make_docx, "report.docx"),
        (formats.make_pptx, "deck.pptx"),
        (formats.make_html, "page.html"),
        (formats.make_odt, "report.odt"),
        (lambda: formats.make_epub([OUTLINE[:1], OUTLINE[1:]]), "book.epub"),
    ],
)
def test_every_word_heading_and_table_comes_back(build: object, filename: str) -> None:
    pages, title, _ = read(build(), filename)  # type: ignore[operator]
    assert title == TITLE
    assert recall(outline_words(), joined(pages)) >= 0.95
    markdown = joined(pages, "markdown")
    assert recall(outline_words(), markdown) >= 0.95
    for section in OUTLINE:
        assert any(
            line.lstrip("#").strip() == section.heading and line.startswith("#")
            for line in markdown.splitlines()
        ), section.heading
    # The first table, as a Markdown table with its header row first.
    assert "| Region | Documents | Pages |\n|---|---|---|\n| North | 1200 | 35000 |" in markdown
    # In plain text a row is one line, its cells tab-separated.
    assert "North\t1200\t35000" in joined(pages)


def test_docx_pages_are_what_its_explicit_page_breaks_delimit() -> None:
    pages, _, media_type = read(formats.make_docx(), "report.docx")
    assert media_type == MediaType.DOCX
    assert [page.text.splitlines()[0] for page in pages] == [section.heading for section in OUTLINE]
    one, _, _ = read(formats.make_docx(page_breaks=False), "report.docx")
    assert len(one) == 1
    assert one[0].markdown is not None
    assert "- first queued item\n- second retried item" in one[0].markdown


def test_a_slide_is_a_page_with_its_title_table_and_speaker_notes() -> None:
    pages, _, _ = read(formats.make_pptx(), "deck.pptx")
    assert len(pages) == len(OUTLINE)
    for page, section in zip(pages, OUTLINE, strict=True):
        assert page.markdown is not None
        assert page.markdown.startswith(f"# {section.heading}\n")
        assert page.text.endswith(f"Notes: Speaker notes for {section.heading}")
        assert page.markdown.endswith(f"> **Notes:** Speaker notes for {section.heading}")


def test_a_sheet_is_a_page_holding_its_cells_as_a_table() -> None:
    data = formats.make_xlsx({
        "Sales": [["Region", "Q1", "Q2"], ["North", 12, 13.5], [None, None, None], ["South", 7, None]],
        "Empty": [],
        "Notes": [["see | the pipe"]],
    })  # fmt: skip
    pages, _, media_type = read(data, "book.xlsx")
    assert media_type == MediaType.XLSX
    assert [page.text.splitlines()[0] for page in pages] == ["Sales", "Empty", "Notes"]
    assert pages[0].markdown == (
        "# Sales\n\n| Region | Q1 | Q2 |\n|---|---|---|\n| North | 12 | 13.5 |\n| South | 7 |  |"
    )
    assert pages[0].text == "Sales\nRegion\tQ1\tQ2\nNorth\t12\t13.5\nSouth\t7\t"
    assert pages[2].markdown is not None
    assert "see \\| the pipe" in pages[2].markdown


def test_html_gives_visible_text_only_and_its_title() -> None:
    pages, title, media_type = read(formats.make_html(), "anything.txt")
    assert media_type == MediaType.HTML
    assert title == TITLE
    text = joined(pages) + joined(pages, "markdown")
    for word in formats.HIDDEN_TEXT:
        assert word not in text
    assert pages[0].markdown is not None
    assert pages[0].markdown.startswith(f"# {TITLE}\n\n## Introduction\n\n")


def test_documentation_permalinks_stay_out_of_headings() -> None:
    html = b'<html><body><h2>Install<a class="headerlink" href="#install">\xc2\xb6</a></h2></body></html>'
    pages, _, _ = read(html, "docs.html")
    assert pages[0].markdown == "## Install"


def test_nested_html_lists_keep_their_levels() -> None:
    html = b"<html><body><ol><li>one<ul><li>inner</li></ul></li><li>two</li></ol><p>after</p></body></html>"
    pages, _, _ = read(html, "x.html")
    assert pages[0].markdown == "1. one\n  - inner\n1. two\n\nafter"
    assert pages[0].text == "one\ninner\ntwo\nafter"


def test_an_epub_chapter_is_a_page_and_a_spine_that_loops_is_read_once() -> None:
    chapters = [[Section("Chapter one", ["alpha words here"])], [Section("Chapter two", ["beta words here"])]]
    pages, title, media_type = read(formats.make_epub(chapters, spine=[0, 1, 0, 1, 1, 0] * 500), "book.epub")
    assert media_type == MediaType.EPUB
    assert title == TITLE
    assert [page.text for page in pages] == ["Chapter one\nalpha words here", "Chapter two\nbeta words here"]


def test_csv_is_one_page_holding_one_table() -> None:
    data = formats.make_csv([["name", "city"], ["Ann", "Oslo"], ["Bob", "Lima; Peru"]], delimiter=";")
    pages, _, media_type = read(data, "people.csv")
    assert media_type == MediaType.CSV
    assert pages[0].text == "name\tcity\nAnn\tOslo\nBob\tLima; Peru"
    assert pages[0].markdown == "| name | city |\n|---|---|\n| Ann | Oslo |\n| Bob | Lima; Peru |"


@pytest.mark.parametrize(
    ("build", "filename", "media_type", "page_count"),
    [
        (formats.make_docx, "report.docx", MediaType.DOCX, 3),
        (formats.make_pptx, "deck.pptx", MediaType.PPTX, 3),
        (
            lambda: formats.make_xlsx({"One": [["a", "b"], ["c", "d"]], "Two": [["e"]]}),
            "t.xlsx",
            MediaType.XLSX,
            2,
        ),
        (formats.make_html, "page.html", MediaType.HTML, 1),
        (formats.make_odt, "report.odt", MediaType.ODT, 1),
        (lambda: formats.make_epub([OUTLINE[:1], OUTLINE[1:]]), "book.epub", MediaType.EPUB, 2),
        (lambda: formats.make_csv([["a", "b"], ["1", "2"]]), "t.csv", MediaType.CSV, 1),
    ],
)
def test_each_format_through_the_real_worker(
    api: httpx.Client, build: object, filename: str, media_type: MediaType, page_count: int
) -> None:
    answer = upload(api, build(), filename, chunk_size=300, chunk_overlap=30)  # type: ignore[operator]
    assert answer.status_code == 202, answer.text
    task = wait_terminal(api, answer.json()["task_id"])
    assert task["state"] == "succeeded", task
    assert task["media_type"] == media_type
    assert task["progress"]["pages_done"] == task["progress"]["pages_total"] == page_count
    result = api.get(f"/v1/tasks/{task['task_id']}/result").json()
    assert result["document"]["media_type"] == media_type
    assert result["document"]["format"] == filename.rsplit(".", 1)[1]
    assert result["document"]["page_count"] == page_count
    assert all(page["markdown"] for page in result["pages"])
    text = "\n\n".join(page["text"] for page in result["pages"])
    assert result["chunks"]
    for chunk in result["chunks"]:
        assert text[chunk["char_start"] : chunk["char_end"]] == chunk["text"]
        assert len(chunk["text"]) <= 300
        assert 1 <= chunk["page_start"] <= chunk["page_end"] <= page_count


def test_the_cell_budget_holds_whether_or_not_a_sheet_declares_its_size() -> None:
    declared = formats.make_xlsx({"Big": [[n, n, n] for n in range(400)]})
    with pytest.raises(DocumentError) as refused:
        read_document(io.BytesIO(declared), "big.xlsx", Recorded(), Settings(max_sheet_cells=1000))
    assert refused.value.code == ErrorCode.DOCUMENT_TOO_COMPLEX
    assert "DOCQUEUE_MAX_SHEET_CELLS" in str(refused.value)
    # A sheet that says nothing of its size is counted row by row.
    endless = ((n, n) for n in range(10**9))
    with pytest.raises(DocumentError):
        sheet_rows(endless, CellBudget(1000, "XLSX"))


def test_an_entry_that_unpacks_too_many_times_its_size_is_a_zip_bomb() -> None:
    data = formats.make_docx()
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive,
    ):
        for entry in source.infolist():
            archive.writestr(entry.filename, source.read(entry.filename))
        archive.writestr("word/media/zeros.bin", bytes(8 * 1024 * 1024))
    with pytest.raises(DocumentError) as refused:
        read_document(io.BytesIO(buffer.getvalue()), "x.docx", Recorded(), Settings())
    assert refused.value.code == ErrorCode.DOCUMENT_TOO_COMPLEX
    assert "DOCQUEUE_MAX_COMPRESSION_RATIO" in str(refused.value)


def test_token_chunks_through_the_real_worker_fit_their_budget_and_name_their_headings(
    api: httpx.Client,
) -> None:
    data = formats.make_docx()
    by_tokens = upload(api, data, "report.docx", chunk_size=80, chunk_overlap=10, chunk_by="tokens")
    assert by_tokens.status_code == 202, by_tokens.text
    # The unit is part of dedupe: the same bytes in characters are another task.
    by_characters = upload(api, data, "report.docx", chunk_size=80, chunk_overlap=10)
    assert by_characters.json()["task_id"] != by_tokens.json()["task_id"]
    task = wait_terminal(api, by_tokens.json()["task_id"])
    assert task["state"] == "succeeded", task
    chunks = api.get(f"/v1/tasks/{task['task_id']}/result").json()["chunks"]
    assert all(1 <= chunk["token_count"] <= 80 for chunk in chunks)
    assert max(len(chunk["text"]) for chunk in chunks) > 80  # tokens, not characters
    assert {chunk["headings"][0] for chunk in chunks} == {section.heading for section in OUTLINE}
    refused = upload(api, data, "report.docx", chunk_by="words")
    assert refused.status_code == 422
    assert refused.json()["code"] == "validation_error"
