"""The docqueue stack as local processes: what `make run` starts and what the integration tests use."""
