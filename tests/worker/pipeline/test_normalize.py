"""Each normalization rule, and the cases it must leave alone (pipeline/normalize.py)."""

import unicodedata

import pytest

from docqueue_worker.pipeline.normalize import normalize_characters, normalize_layout, normalize_pages


def norm(text: str) -> str:
    return normalize_pages([text])[0]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "de\ufb01nition of \ufb02ow, e\ufb00ort, su\ufb03x, ba\ufb04e",
            "definition of flow, effort, suffix, baffle",
        ),
        ("\ufb06ring", "string"),
    ],
)
def test_ligatures_are_folded(raw: str, expected: str) -> None:
    assert norm(raw) == expected


def test_nfc() -> None:
    decomposed = "Cafe\u0301 Mu\u0308nchen"
    assert norm(decomposed) == "Café München"
    assert unicodedata.is_normalized("NFC", norm(decomposed))


def test_line_end_hyphen_joins_a_lower_case_continuation() -> None:
    assert (
        norm("Lorem ipsum dolor sit amet, adip-\niscing elit")
        == "Lorem ipsum dolor sit amet, adipiscing elit"
    )
    assert (
        norm("Gro\u00df-\n  artig und \u00fcber-\n\u00e4ngstlich")
        == "Gro\u00dfartig und \u00fcber\u00e4ngstlich"
    )
    assert norm("hyphen\u2010\nation") == "hyphenation"


def test_hyphen_cases_the_rule_leaves_alone() -> None:
    # A compound mid-line, an upper-case or digit continuation, a dash between spaces.
    for text in ("a well-known rule", "Jean-\nPierre", "pages 1-\n2", "this -\nthat", "x -- y"):
        assert norm(text) == text


def test_a_compound_seen_inside_a_line_keeps_its_hyphen_across_a_line_end() -> None:
    pages = normalize_pages(["a well-known rule", "another well-\nknown rule, and a bro-\nken word"])
    assert pages[1] == "another well-known rule, and a broken word"


def test_soft_hyphens_controls_and_non_characters_go() -> None:
    assert norm("hy\u00adphen") == "hyphen"
    assert norm("hy\u00ad\nphen") == "hyphen"
    assert norm("a\x00b\x07c\x1fd\x7fe\x9ff\ufeffg") == "abcdefg"
    assert norm("x\ufdd0y\uffffz\U0001fffe") == "xyz"


def test_line_endings_spaces_and_paragraphs() -> None:
    assert norm("one\r\ntwo\rthree\u2028four") == "one\ntwo\nthree\nfour"
    assert norm("a    b\t\tc   \nd") == "a b c\nd"
    assert norm("para one\n\n\n\npara two") == "para one\n\npara two"
    assert norm("  - indented item\n    - nested") == "  - indented item\n    - nested"


def test_code_fences_are_kept_as_written() -> None:
    text = "Prose with a bro-\nken word.\n\n```python\nx = a-\nb   # spaced\n```\nafter"
    assert norm(text) == "Prose with a broken word.\n\n```python\nx = a-\nb   # spaced\n```\nafter"


def test_arabic_presentation_forms_fold_to_letters_and_keep_their_order() -> None:
    # "سلام" drawn as isolated/initial/final presentation forms, as PDFs store shaped Arabic.
    shaped = "\ufeb3\ufee0\ufe8e\ufee1"
    assert norm(shaped) == "\u0633\u0644\u0627\u0645"
    # Lam-alef ligature becomes its two letters; already plain Arabic is untouched.
    assert norm("\ufefb") == "\u0644\u0627"
    plain = "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645"
    assert norm(plain) == plain


def test_hebrew_presentation_forms_fold_and_plain_hebrew_is_untouched() -> None:
    assert norm("\ufb2a") == "\u05e9\u05c1"  # shin with shin dot
    assert norm("\ufb4f") == "\u05d0\u05dc"  # alef-lamed ligature
    plain = "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd"
    assert norm(plain) == plain


def test_idempotent() -> None:
    raw = "de\ufb01ne the adip-\niscing  text\r\n\r\n\r\nnext \u00adpara"
    once = norm(raw)
    assert norm(once) == once


def test_characters_and_layout_can_run_apart() -> None:
    assert normalize_characters("\ufb01 \r\n") == "fi \n"
    assert normalize_layout("bro-\nken  up ") == "broken up"


def test_an_upper_case_word_is_joined_only_when_the_document_uses_it_whole() -> None:
    pages = normalize_pages(
        ["an OPTIONAL field", "is OP-\nTIONAL, but ASN-\nDER stays, and so does Jean-\nPierre"]
    )
    assert pages[1] == "is OPTIONAL, but ASN-\nDER stays, and so does Jean-\nPierre"
