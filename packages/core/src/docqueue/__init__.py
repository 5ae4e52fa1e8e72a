"""docqueue's shared contract: the one place names, settings and the job model are written down."""

__version__ = "0.1.0"
