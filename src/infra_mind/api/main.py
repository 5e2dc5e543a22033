"""The ASGI application for uvicorn workers: ``infra_mind.api.main:app``.

Settings come from the environment; migrations are applied once by
``infra-mind serve`` before the workers start, not by each worker.
"""

from infra_mind.api.app import create_app
from infra_mind.config import settings
from infra_mind.observability.logging import configure_logging

configure_logging(settings().log_level)  # each uvicorn worker process logs JSON lines
app = create_app()
