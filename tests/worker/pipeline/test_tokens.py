"""The shipped tokenizer is tiktoken's cl100k_base, read from the worker package, never fetched."""

from pathlib import Path

import pytest
import tiktoken
import tiktoken.load
from tiktoken_ext import openai_public

from docqueue.jobs.model import Tokenizer
from docqueue_worker.pipeline import tokens


def test_the_packaged_file_gives_exactly_tiktokens_own_cl100k_base(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = tokens.SPECS[Tokenizer.CL100K_BASE]
    packaged = (tokens.DATA / spec.file).read_bytes()
    fetched: list[str] = []

    def read_file(blobpath: str) -> bytes:
        fetched.append(blobpath)
        return packaged

    # tiktoken's definition, with its download answered by our file and its cache turned off.
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "")
    monkeypatch.setattr(tiktoken.load, "read_file", read_file)
    theirs = openai_public.cl100k_base()
    assert fetched, "tiktoken's definition did not ask for its file"
    assert theirs["pat_str"] == spec.pattern
    assert theirs["special_tokens"] == spec.special_tokens
    reference = tiktoken.Encoding(**theirs)
    ours = tokens.encoding(Tokenizer.CL100K_BASE)
    for text in (
        "hello world",
        "Größe — 東京 naïve café 1234567",
        "def f(x):\n\treturn x  # ok\n\n",
        "<|endoftext|>",
    ):
        assert ours.encode_ordinary(text) == reference.encode_ordinary(text)


@pytest.mark.parametrize(
    "text",
    ["The queue holds 1200 documents.  Each is read\npage by page.\t", "Größe — 東京 naïve café 🙂 ok"],
)
def test_token_offsets_are_tiktokens_own(text: str) -> None:
    ours = tokens.encoding(Tokenizer.CL100K_BASE)
    starts = tokens.starts(ours, text)
    _, reference = ours.decode_with_offsets(ours.encode_ordinary(text))
    assert starts == reference
    assert len(starts) == tokens.count(ours, text)


def test_a_missing_or_altered_file_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    tokens.encoding.cache_clear()
    try:
        monkeypatch.setattr(tokens, "DATA", tmp_path)
        with pytest.raises(tokens.TokenizerMissing, match="missing"):
            tokens.encoding(Tokenizer.CL100K_BASE)
        (tmp_path / "cl100k_base.tiktoken").write_bytes(b"IQ== 0\n")
        with pytest.raises(tokens.TokenizerMissing, match="sha256"):
            tokens.encoding(Tokenizer.CL100K_BASE)
    finally:
        tokens.encoding.cache_clear()
