"""Client filenames become display metadata only."""

from docqueue_api.documents.filenames import MAX_FILENAME_CHARS, display_filename


def test_paths_and_dangerous_characters_are_removed() -> None:
    assert display_filename("../../etc/passwd") == "passwd"
    assert display_filename("/abs/path/report.pdf") == "report.pdf"
    assert display_filename("C:\\Users\\x\\doc.pdf") == "doc.pdf"
    assert display_filename("a\x00b\x1fc.pdf") == "abc.pdf"
    assert display_filename("evil\u202egnp.pdf") == "evilgnp.pdf"
    assert display_filename("..") == "document"
    assert len(display_filename("a" * 10_000)) == MAX_FILENAME_CHARS
    assert display_filename("My Report (final).pdf") == "My Report (final).pdf"
