"""Tokens as embedding models count them: tiktoken's BPE, with its ranks shipped in this package
(`tokenizers/`), so nothing is ever downloaded (tiktoken would fetch them and cache them in /tmp)."""

import base64
import functools
import hashlib
import itertools
from dataclasses import dataclass
from pathlib import Path

import tiktoken

from docqueue.jobs.model import Tokenizer

DATA = Path(__file__).parent / "tokenizers"


@dataclass(frozen=True)
class Spec:
    file: str
    sha256: str  # as tiktoken checks it
    pattern: str
    special_tokens: dict[str, int]


# As tiktoken_ext.openai_public defines cl100k_base (tests/worker/pipeline/test_tokens.py checks
# that tiktoken's own definition, fed the same file, encodes the same).
SPECS = {
    Tokenizer.CL100K_BASE: Spec(
        file="cl100k_base.tiktoken",
        sha256="223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
        pattern=(
            r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
            r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
        ),
        special_tokens={
            "<|endoftext|>": 100257,
            "<|fim_prefix|>": 100258,
            "<|fim_middle|>": 100259,
            "<|fim_suffix|>": 100260,
            "<|endofprompt|>": 100276,
        },
    )
}


class TokenizerMissing(RuntimeError):
    """The tokenizer's file is not where the worker package put it, or not the right one."""


@functools.cache
def encoding(name: Tokenizer) -> tiktoken.Encoding:
    """The tokenizer, loaded once per process from the packaged file."""
    spec = SPECS[name]
    path = DATA / spec.file
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TokenizerMissing(f"the {name} tokenizer file is missing: {path}") from exc
    if hashlib.sha256(data).hexdigest() != spec.sha256:
        raise TokenizerMissing(f"{path} is not the {name} tokenizer file (sha256 differs)")
    ranks = {
        base64.b64decode(token): int(rank)
        for token, rank in (line.split() for line in data.splitlines() if line)
    }
    return tiktoken.Encoding(
        name=str(name), pat_str=spec.pattern, mergeable_ranks=ranks, special_tokens=spec.special_tokens
    )


def count(tokenizer: tiktoken.Encoding, text: str) -> int:
    """Tokens of `text`; special-token text (`<|endoftext|>`) counts as ordinary text."""
    return len(tokenizer.encode_ordinary(text))


def starts(tokenizer: tiktoken.Encoding, text: str) -> list[int]:
    """The character offset where each token of `text` starts."""
    encoded = tokenizer.encode_ordinary(text)
    if text.isascii():
        # One byte per character: the offsets are the tokens' byte lengths summed, which is
        # ten times faster than tiktoken's decode_with_offsets (a Python loop over every byte).
        lengths = map(len, tokenizer.decode_tokens_bytes(encoded))
        return [0, *itertools.accumulate(lengths)][: len(encoded)]
    _, offsets = tokenizer.decode_with_offsets(encoded)
    return offsets
