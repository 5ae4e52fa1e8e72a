"""`docqueue-worker`: validate settings, then run `celery worker` with docqueue's shutdown rules."""

import os
import sys


def main() -> None:
    # Read by billiard when Celery is imported: SIGTERM (a pod stop) becomes the soft-then-cold
    # shutdown of SIGQUIT, so unfinished work is re-queued at once instead of after the
    # visibility timeout.
    os.environ.setdefault("REMAP_SIGTERM", "SIGQUIT")
    from docqueue.settings import load_settings
    from docqueue_worker.settings import WorkerSettings

    settings = load_settings(WorkerSettings, "docqueue-worker")
    from docqueue_worker.pipeline import tokens
    from docqueue_worker.pipeline.ocr import OcrUnavailable, check_installed

    try:
        # The API accepts uploads for these languages: a worker without them would fail them all.
        check_installed(settings.ocr_languages_installed)
        # Every chunk is counted in tokens: loaded here (once; forked pool processes share it).
        tokens.encoding(settings.tokenizer)
    except (OcrUnavailable, tokens.TokenizerMissing) as exc:
        sys.exit(f"docqueue-worker: refusing to start: {exc}")
    if settings.metrics_port:
        # Before prometheus_client is imported: pool processes write their samples there and
        # this process serves the sum (see docqueue.metrics_server).
        from docqueue.metrics_server import prepare_multiprocess_dir

        prepare_multiprocess_dir()
    from docqueue_worker.main import app

    argv = [
        # JSON logs are one object per line: no start-up banner on stdout between them.
        *(["--quiet"] if settings.log_format == "json" else []),
        "worker",
        "--queues",
        settings.queues,
        "--concurrency",
        str(settings.concurrency),
        "--loglevel",
        settings.log_level,
        # Mingle syncs revoked ids and gossip elects nothing we use: both only add broker traffic.
        "--without-mingle",
        "--without-gossip",
        *sys.argv[1:],
    ]
    app.worker_main(argv)


if __name__ == "__main__":
    main()
