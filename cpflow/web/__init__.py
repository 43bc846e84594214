"""The web app (`cpflow serve`): FastAPI pages and a JSON API over the same services,
read model and report builders as the CLI. Install with the `web` extra."""

from cpflow.web.app import create_app

__all__ = ["create_app"]
