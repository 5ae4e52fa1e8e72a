# docqueue's three images, one target each, from the repository root (see `make images`):
#   podman build --target api --build-arg SERVICE=api -t docqueue/api .         FastAPI under uvicorn
#   podman build --target worker --build-arg SERVICE=worker -t docqueue/worker . the Celery worker
#   podman build --target beat --build-arg SERVICE=beat -t docqueue/beat .      RedBeat's scheduler
# Each runs as uid 10001 with a read-only root filesystem (only /tmp needs to be writable) and
# holds only its own service's packages, at the versions of pins.txt.
# compose.yaml also runs three images of the stack's other parts, built here from the same base so
# that no registry is needed: --target redis (Debian's redis-server), flower, celery-exporter.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- builders: one virtual environment per service under /opt/docqueue ---------------------------
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_NATIVE_TLS=1 \
    UV_NO_CACHE=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_PYTHON_DOWNLOADS=never
RUN python -m pip install --no-cache-dir uv==0.13.9 \
 && python -m uv venv /opt/docqueue
WORKDIR /src
# What every service needs from the repository: the pins, the core's manifest, the install steps.
COPY pins.txt pins.txt
COPY packages/core/pyproject.toml packages/core/pyproject.toml
COPY deploy/images/install-service /usr/local/bin/install-service

# One service, named by `--build-arg SERVICE=` (`make images` passes it with the matching target):
# its third-party dependencies first (that layer is rebuilt only when a manifest or a pin changes,
# not on a source edit), then its sources and the two packages themselves.
FROM builder AS build
ARG SERVICE
COPY services/${SERVICE}/pyproject.toml services/${SERVICE}/pyproject.toml
RUN install-service deps "${SERVICE}"
COPY packages/core/src packages/core/src
COPY services/${SERVICE}/src services/${SERVICE}/src
RUN install-service own "${SERVICE}"

FROM build AS build-worker
# tesserocr's wheel bundles libjbig (GPL-2.0-or-later) for its libtiff; docqueue never decodes JBIG,
# so an MIT stand-in of ours takes its place (services/worker/jbig-stub/jbig_stub.c says why).
COPY services/worker/jbig-stub/jbig_stub.c /src/jbig_stub.c
# hadolint ignore=DL3008
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
 && for lib in /opt/docqueue/lib/python3.11/site-packages/tesserocr.libs/libjbig-*.so*; do \
      gcc -shared -fPIC -O2 -o "$lib" /src/jbig_stub.c; done \
 && rm -rf /var/lib/apt/lists/*

# Flower at pins.txt's version, and the celery-exporter in an environment of its own (it pins older
# redis and prometheus-client than docqueue's: pins-celery-exporter.txt).
FROM builder AS build-flower
RUN printf 'flower\ncelery[redis]\n' > requirements.txt \
 && python -m uv pip install --python /opt/docqueue/bin/python -r requirements.txt --constraint pins.txt

FROM builder AS build-celery-exporter
COPY pins-celery-exporter.txt pins-celery-exporter.txt
RUN python -m uv pip sync --python /opt/docqueue/bin/python pins-celery-exporter.txt

# --- runtime: the same user, paths and environment for every service -------------------------------
FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 docqueue \
 && useradd --system --uid 10001 --gid 10001 --home-dir /tmp --no-create-home --shell /usr/sbin/nologin docqueue \
 && install -d -o 10001 -g 10001 /var/lib/docqueue/blobs
# /var/lib/docqueue/blobs: where compose.yaml mounts the blob volume (a new volume takes this owner).
# Bytecode was compiled at build time; nothing may be written outside /tmp at run time.
ENV PATH=/opt/docqueue/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    TMPDIR=/tmp
WORKDIR /tmp

FROM runtime AS api
COPY --from=build /opt/docqueue /opt/docqueue
USER 10001:10001
EXPOSE 8000
# uvicorn itself is PID 1: SIGTERM stops accepting, lets requests finish, then exits.
ENTRYPOINT ["uvicorn", "docqueue_api.main:app"]
CMD ["--host", "0.0.0.0", "--port", "8000", "--no-access-log", "--timeout-graceful-shutdown", "20"]

FROM runtime AS beat
COPY --from=build /opt/docqueue /opt/docqueue
USER 10001:10001
# The Celery main process is PID 1, so SIGTERM stops beat and releases RedBeat's lock.
ENTRYPOINT ["docqueue-beat"]

FROM runtime AS worker
# Tesseract's language data, from Debian (Apache-2.0; the engine itself is tesserocr's). Another
# language: --build-arg OCR_LANGUAGES="eng deu fra spa ita" and DOCQUEUE_OCR_INSTALLED_LANGUAGES.
ARG OCR_LANGUAGES="eng deu fra spa"
# hadolint ignore=DL3008,SC2086
RUN apt-get update \
 && apt-get install -y --no-install-recommends $(for lang in ${OCR_LANGUAGES}; do echo tesseract-ocr-$lang; done) \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build-worker /opt/docqueue /opt/docqueue
ENV TESSDATA_PREFIX=/usr/share/tesseract-ocr/5/tessdata
USER 10001:10001
# The Celery main process is PID 1: SIGTERM reaches it and becomes the soft shutdown
# (finish or re-queue running tasks) that docqueue-worker sets up.
ENTRYPOINT ["docqueue-worker"]

# --- the stack's other parts (compose.yaml) -----------------------------------------------------
FROM runtime AS redis
# Debian's Redis 7.0 (BSD-3-Clause); /data is the volume the append-only file lives on.
# hadolint ignore=DL3008
RUN apt-get update && apt-get install -y --no-install-recommends redis-server \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir /data && chown 10001:10001 /data
USER 10001:10001
VOLUME ["/data"]
EXPOSE 6379
ENTRYPOINT ["redis-server"]
# What the chart runs: the append-only file, no RDB snapshots, and never evict queued work.
CMD ["--dir", "/data", "--appendonly", "yes", "--appendfsync", "everysec", "--save", "", \
     "--maxmemory-policy", "noeviction", "--protected-mode", "no"]

FROM runtime AS flower
COPY --from=build-flower /opt/docqueue /opt/docqueue
USER 10001:10001
EXPOSE 5555
# The broker comes from CELERY_BROKER_URL, the options from FLOWER_* variables (as in the chart).
ENTRYPOINT ["celery", "flower"]

FROM runtime AS celery-exporter
COPY --from=build-celery-exporter /opt/docqueue /opt/docqueue
USER 10001:10001
EXPOSE 9808
# prometheus-exporter-celery ships its click command (src.cli:cli) but no script of its own.
ENTRYPOINT ["python", "-c", "import sys; from src.cli import cli; sys.argv[0] = 'celery-exporter'; cli()"]
