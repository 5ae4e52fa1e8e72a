"""The parsers docqueue exposes to untrusted input are at releases with the advisory fixes in."""

import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]

# package -> (lowest release with every fix below, the advisories it closes)
MINIMUM = {
    "pypdf": (
        "6.14.2",
        "FlateDecode/LZW/ASCIIHex/array-stream RAM exhaustion (CVE-2025-55197, CVE-2025-62708, "
        "CVE-2025-66019, CVE-2026-33123), infinite loops on inline images and outlines "
        "(CVE-2025-62707, CVE-2026-24688, GHSA-5xf7-4p34-54qr, GHSA-g867-7843-wf8q), long runtimes on "
        "a missing /Root (CVE-2026-22690)",
    ),
    "python-multipart": (
        "0.0.30",
        "option-header ReDoS (CVE-2024-24762), CR/LF preamble log flood (CVE-2024-53981), file path "
        "traversal (CVE-2026-24486), preamble/epilogue CPU DoS (CVE-2026-40347), unbounded part headers "
        "(CVE-2026-42561), querystring and part DoS (CVE-2026-53538, CVE-2026-53539, CVE-2026-53540)",
    ),
    "starlette": (
        "1.6.0",
        "multipart fields buffered in memory (CVE-2024-47874), blocking large uploads (CVE-2025-54121), "
        "Range header ReDoS (CVE-2025-62727), Host header path bypass (CVE-2026-48710), StaticFiles "
        "UNC paths (CVE-2026-48818), CVE-2026-54282, CVE-2026-54283",
    ),
}
PINNED_IN = {
    "pypdf": ROOT / "services/worker/pyproject.toml",
    "python-multipart": ROOT / "services/api/pyproject.toml",
    "starlette": ROOT / "services/api/pyproject.toml",
}


@pytest.mark.parametrize("package", sorted(MINIMUM))
def test_installed_release_has_the_fixes(package: str) -> None:
    lowest, advisories = MINIMUM[package]
    assert Version(version(package)) >= Version(lowest), f"{package} {version(package)} lacks: {advisories}"


@pytest.mark.parametrize("package", sorted(MINIMUM))
def test_pinned_release_has_the_fixes(package: str) -> None:
    lowest, advisories = MINIMUM[package]
    project = tomllib.loads(PINNED_IN[package].read_text())["project"]
    requirements = [Requirement(line) for line in project["dependencies"]]
    pinned = [req for req in requirements if req.name == package]
    assert len(pinned) == 1, f"{package} is not a direct dependency of {PINNED_IN[package]}"
    specs = list(pinned[0].specifier)
    assert [spec.operator for spec in specs] == ["=="], f"{package} must be pinned exactly: {pinned[0]}"
    assert Version(specs[0].version) >= Version(lowest), f"{pinned[0]} lacks: {advisories}"
