"""Resource caps for the pool processes that parse untrusted files."""

import logging
import resource

log = logging.getLogger(__name__)

MIB = 1024 * 1024


def cap_memory(max_memory_mb: int) -> None:
    """Cap this process's address space; allocations past it raise MemoryError in the task."""
    if max_memory_mb <= 0:
        return
    limit = max_memory_mb * MIB
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    log.info("pool process memory capped at %d MiB", limit // MIB)
