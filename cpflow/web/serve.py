"""The app factory uvicorn's workers call (`cpflow serve`): the database from CPFLOW_DB,
the plugins from CPFLOW_PLUGINS, as the command line set them."""

from __future__ import annotations

import os


def app():
    from cpflow.plugins.manager import get_plugins
    from cpflow.web.app import create_app

    return create_app(os.environ.get("CPFLOW_DB"), plugins=get_plugins(os.environ.get("CPFLOW_PLUGINS")))
