"""`docqueue-beat`: RedBeat's scheduler plus a one-process worker for the maintenance queue.

The schedule and the tasks it triggers live together so maintenance keeps running when document
workers are scaled to zero. RedBeat's lock in Redis lets only one replica schedule at a time; a
second replica waits and takes over when the lock expires.
"""

import sys

from docqueue import names


def main() -> None:
    from docqueue.settings import load_settings
    from docqueue_beat.settings import BeatSettings

    settings = load_settings(BeatSettings, "docqueue-beat")
    from docqueue_beat.main import app

    app.worker_main(
        [
            # JSON logs are one object per line: no start-up banner on stdout between them.
            *(["--quiet"] if settings.log_format == "json" else []),
            "worker",
            "--beat",
            "--queues",
            names.MAINTENANCE_QUEUE,
            "--concurrency",
            "1",
            "--loglevel",
            settings.log_level,
            "--without-mingle",
            "--without-gossip",
            *sys.argv[1:],
        ]
    )


if __name__ == "__main__":
    main()
