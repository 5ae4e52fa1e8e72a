"""What the PDF engines' opened documents share: `with source:` closes it."""

from types import TracebackType
from typing import Self


class ClosingSource:
    """A source that is closed on leaving its `with` block; subclasses implement `close`."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
