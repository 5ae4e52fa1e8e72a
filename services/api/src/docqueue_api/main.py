"""The API's process-wide app: `uvicorn docqueue_api.main:app`."""

from docqueue.logging_config import configure_logging
from docqueue.settings import load_settings, log_connections
from docqueue.telemetry import setup_tracing
from docqueue_api.app import create_app
from docqueue_api.observability import instrument_app
from docqueue_api.settings import ApiSettings

settings = load_settings(ApiSettings, "docqueue-api")
# uvicorn imports this module after configuring its own loggers: ours take them over.
configure_logging(settings.log_level, settings.log_format, service="api")
log_connections(settings)
tracer_provider = setup_tracing("docqueue-api")
app = create_app(settings)
instrument_app(app, tracer_provider)
