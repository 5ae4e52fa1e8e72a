"""How long a retry waits: one rule for job retries (the worker's processor) and webhook
deliveries (the callbacks worker)."""

import random


def equal_jitter_s(attempt: int, base_s: float, cap_s: float) -> float:
    """Exponential backoff, capped, with "equal jitter": half the step fixed, half random, so
    retries of many jobs that failed together spread out but none comes back at once. Attempt 1
    waits base/2 to base seconds, each further attempt twice as long, up to cap/2 to cap."""
    step = min(cap_s, base_s * 2.0 ** (attempt - 1))
    return step / 2 + random.uniform(0, step / 2)  # noqa: S311 - jitter, not crypto
