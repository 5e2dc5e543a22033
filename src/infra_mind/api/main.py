"""The ASGI application for uvicorn workers: ``infra_mind.api.main:app``.

Settings come from the environment; migrations are applied once by
``infra-mind serve`` before the workers start, not by each worker.
"""

from infra_mind.api.app import create_app

app = create_app()
