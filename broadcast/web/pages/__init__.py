"""The officers' web app: server-rendered Vietnamese pages (Jinja2, htmx) over the same services as the API."""
from __future__ import annotations

from fastapi import FastAPI

from broadcast.bootstrap import Container
from broadcast.web.assets import install_assets
from broadcast.web.pages import account, home
from broadcast.web.pages.rendering import Pages


def install_pages(app: FastAPI, container: Container) -> None:
    """Static files, /docs and the pages; call after the API routes."""
    assets = install_assets(app, container.settings.frontend_dir)
    app.state.pages = Pages(container, assets)
    for module in (account, home):
        app.include_router(module.router)
