"""What every container test shares: the engine (podman's Docker API, for testcontainers) and the
images of this source. Where podman cannot run, the container tests are skipped, saying why; on CI
(`CI` set) that is a failure instead, so a green CI run means they ran."""

import os
import uuid
from collections.abc import Iterator

import pytest

from tests.e2e.engine import Engine, build_images, missing

# Every compose project a test here brings up is named with this, and swept by it.
COMPOSE_PROJECT = f"docqueue-e2e-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    reason = missing()
    if reason and os.environ.get("CI"):
        pytest.fail(f"CI must run the container tests: {reason}")
    if reason:
        pytest.skip(reason)
    started = Engine(
        tmp_path_factory.mktemp("engine"), [f"io.podman.compose.project={COMPOSE_PROJECT}"]
    ).start()
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="session")
def image_tag(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The six images of this source (`make images`; a few minutes when none exist yet)."""
    return build_images(tmp_path_factory.mktemp("images") / "build.log")
