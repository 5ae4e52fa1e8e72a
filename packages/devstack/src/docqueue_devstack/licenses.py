"""`make licenses`: every Python package each image ships, with its licence, and a check that none
is GPL or AGPL (LGPL included): the images must stay permissively licensed.

What an image ships is found the way the Dockerfile installs it: the dependencies of
packages/core and of the service's pyproject.toml (for Flower's image: flower and celery[redis]),
followed through each installed package's own requirements (markers evaluated), in this
environment (.venv holds pins.txt, which the images are built from); the celery-exporter's image
holds pins-celery-exporter.txt, as does the environment `make celery-exporter` builds."""

import importlib.metadata as metadata
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[4]
SERVICES = ("api", "worker", "beat")
# compose.yaml's images of the stack's other parts that carry Python packages (Redis's is Debian's).
IMAGES = (*SERVICES, "flower", "celery-exporter")
# What the Dockerfile's flower and celery-exporter stages install.
FLOWER = ("flower", "celery[redis]")
EXPORTER = ("prometheus-exporter-celery",)
EXPORTER_SITE = ROOT / ".run/celery-exporter-venv/lib/python3.11/site-packages"
# Any GPL family licence, by SPDX id or by classifier text.
FORBIDDEN = re.compile(r"\b(A|L)?GPL|General Public License", re.I)
OURS = re.compile(r"^docqueue")
# Markers are judged for the Python pins.txt is compiled for (3.11, its first release), not this
# one: the images' Python (Debian's 3.11.2) gets, e.g., async-timeout, which 3.11.3+ does not.
IMAGE_PYTHON = {"python_version": "3.11", "python_full_version": "3.11.0"}


@dataclass(frozen=True)
class Shipped:
    name: str
    version: str
    licence: str

    @property
    def forbidden(self) -> bool:
        return bool(FORBIDDEN.search(self.licence))


def licence_of(distribution: metadata.Distribution) -> str:
    """The SPDX expression when the package states one, else its licence classifiers, else the
    free-text License field (first line)."""
    fields = distribution.metadata.json
    expression = fields.get("license_expression")
    if expression:
        return str(expression)
    classifiers = [
        str(c).split(" :: ")[-1] for c in fields.get("classifier", []) if str(c).startswith("License ::")
    ]
    if classifiers:
        return "; ".join(classifiers)
    text = str(fields.get("license", "")).strip().splitlines()
    return text[0][:80] if text else "not stated"


def requirements_of(pyproject: Path) -> list[Requirement]:
    declared = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    return [Requirement(line) for line in declared]


def roots(image: str) -> list[Requirement]:
    if image == "flower":
        return [Requirement(line) for line in FLOWER]
    if image == "celery-exporter":
        return [Requirement(line) for line in EXPORTER]
    return requirements_of(ROOT / "packages/core/pyproject.toml") + requirements_of(
        ROOT / f"services/{image}/pyproject.toml"
    )


def installed(name: str, image: str) -> metadata.Distribution:
    if image != "celery-exporter":
        return metadata.distribution(name)
    found = next(iter(metadata.distributions(name=name, path=[str(EXPORTER_SITE)])), None)
    if found is None:
        raise SystemExit(f"{name} is not in {EXPORTER_SITE}: run `make celery-exporter` first")
    return found


def shipped(image: str) -> list[Shipped]:
    """Every third-party package the image installs."""
    pending = roots(image)
    seen: dict[str, Shipped] = {}
    while pending:
        requirement = pending.pop()
        name = canonicalize_name(requirement.name)
        if name in seen or OURS.match(name):
            continue
        distribution = installed(name, image)
        seen[name] = Shipped(name, distribution.version, licence_of(distribution))
        extras = set(requirement.extras) | {""}
        for line in distribution.requires or []:
            inner = Requirement(line)
            if inner.marker is None or any(
                inner.marker.evaluate({**IMAGE_PYTHON, "extra": extra}) for extra in extras
            ):
                pending.append(inner)
    return sorted(seen.values(), key=lambda row: row.name)


def main() -> int:
    bad = []
    for service in IMAGES:
        rows = shipped(service)
        print(f"\n{service} image: {len(rows)} Python packages")
        for row in rows:
            mark = "  FORBIDDEN" if row.forbidden else ""
            print(f"  {row.name}=={row.version}  {row.licence}{mark}")
            if row.forbidden:
                bad.append((service, row))
    if bad:
        print(
            "\nGPL-family licences in images:", ", ".join(f"{s}: {r.name}" for s, r in bad), file=sys.stderr
        )
        return 1
    print("\nno GPL or AGPL licence in any image")
    return 0


if __name__ == "__main__":
    sys.exit(main())
