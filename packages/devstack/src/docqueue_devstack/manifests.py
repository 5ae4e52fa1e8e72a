"""deploy/k8s/: the chart rendered with its defaults, one file per resource, plus a kustomization;
deploy/k8s/sentinel/: the same with the bundled Redis with Sentinel (redis.architecture=sentinel).

`make manifests` writes them; tests/chart/test_manifests.py fails when they drift from the chart.
Two departures from `helm template` with defaults, both because static files cannot do better:
Secrets are not generated (a password committed to git would be everyone's password: create them
as deploy/k8s/README.md says) and the `helm test` hook is left out.

    python -m docqueue_devstack.manifests deploy/k8s
"""

import re
import shutil
import sys
from pathlib import Path

import yaml

from docqueue_devstack.chart import load, template

HEADER = "# Rendered from deploy/helm/docqueue with its defaults by `make manifests`; do not edit.\n"
SETS = ("generateSecrets=false",)
# The Sentinel variant, in deploy/k8s/sentinel.
SENTINEL_SETS = ("redis.architecture=sentinel",)
SENTINEL_HEADER = HEADER.replace("with its defaults", "with redis.architecture=sentinel")
SENTINEL_README = """# docqueue as plain manifests, Redis with Sentinel

The chart rendered with `redis.architecture=sentinel` (three Redis pods, a Sentinel in each; see
docs/redis.md) by `make manifests`. Create the same two Secrets as for `deploy/k8s` (its README), then:

```sh
kubectl apply -k deploy/k8s/sentinel
```
"""
README = """# docqueue as plain manifests

Rendered from the Helm chart (`deploy/helm/docqueue`) with its default values by `make manifests`;
a test fails when they drift from the chart. Change the chart, then re-render; do not edit here.

They expect KEDA (the worker's ScaledObject) and two Secrets you create first, with URL-safe
random values (the chart generates them; static files must not carry a password):

```sh
kubectl create namespace docqueue
kubectl -n docqueue create secret generic docqueue-redis \\
  --from-literal=redis-password="$(openssl rand -hex 24)"
kubectl -n docqueue create secret generic docqueue-flower \\
  --from-literal=username=admin --from-literal=password="$(openssl rand -hex 24)"
kubectl apply -k deploy/k8s          # or: kubectl -n docqueue apply -f deploy/k8s/
```

The images are `docqueue/api`, `docqueue/worker` and `docqueue/beat` at the chart's appVersion:
push the ones `make images` builds to your registry and point the kustomization's `images:` at it.
"""


def file_name(resource: dict[str, object]) -> str:
    kind = str(resource["kind"]).lower()
    name = str(resource["metadata"]["name"])  # type: ignore[index]
    return f"{re.sub(r'[^a-z0-9-]', '-', name)}-{kind}.yaml"


def render_manifests(
    sets: tuple[str, ...] = SETS, header: str = HEADER, readme: str = README
) -> dict[str, str]:
    """file name -> content of every file deploy/k8s/ (or a variant's directory) holds."""
    # Each document's text as helm rendered it, so the chart's comments (the reasons) stay.
    rendered = template(sets=sets, extra=["--skip-tests"])
    documents = [doc.strip() for doc in re.split(r"^---$", rendered, flags=re.M)]
    files = {}
    for text in documents:
        resources = load(text)
        if not resources:
            continue
        files[file_name(resources[0])] = f"{header}{text}\n"
    assert len(files) == len(load(rendered)), "two resources share a file name"
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": "docqueue",
        "resources": sorted(files),
        "images": [
            {"name": f"docqueue/{service}", "newName": f"docqueue/{service}"}
            for service in ("api", "worker", "beat")
        ],
    }
    files["kustomization.yaml"] = header + yaml.safe_dump(kustomization, sort_keys=False)
    files["README.md"] = readme
    return files


def render_sentinel_manifests() -> dict[str, str]:
    return render_manifests((*SETS, *SENTINEL_SETS), SENTINEL_HEADER, SENTINEL_README)


def write(out_dir: Path) -> None:
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    for name, content in render_manifests().items():
        (out_dir / name).write_text(content)
    (out_dir / "sentinel").mkdir()
    for name, content in render_sentinel_manifests().items():
        (out_dir / "sentinel" / name).write_text(content)


if __name__ == "__main__":
    write(Path(sys.argv[1]))
    print(f"wrote {sys.argv[1]}")
