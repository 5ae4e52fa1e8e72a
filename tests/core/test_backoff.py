"""One retry backoff rule for job retries and webhook deliveries."""

from docqueue.backoff import equal_jitter_s


def test_equal_jitter_doubles_and_is_capped() -> None:
    for attempt, (low, high) in {1: (1, 2), 2: (2, 4), 3: (4, 8), 20: (150, 300)}.items():
        assert all(low <= equal_jitter_s(attempt, 2.0, 300.0) <= high for _ in range(50))
