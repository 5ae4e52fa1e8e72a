"""The API's process-wide app: `uvicorn docqueue_api.main:app`."""

from docqueue_api.app import create_app
from docqueue_api.settings import ApiSettings

app = create_app(ApiSettings())
