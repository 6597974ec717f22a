"""The officers' web app: server-rendered Vietnamese pages (Jinja2, htmx) over the same services as the API.

Each page is a module of this package with a `router`; `install_pages` finds them, so adding a page touches no
other file (the menu in `navigation.py` links a page once a route of its name exists)."""
from __future__ import annotations

import importlib
import pkgutil

from fastapi import FastAPI

from broadcast.bootstrap import Container
from broadcast.web.assets import install_assets
from broadcast.web.pages.rendering import Pages


def page_modules() -> list:
    """The modules of this package that serve pages, in name order (route paths never overlap)."""
    found = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "router"):
            found.append(module)
    return found


def page_paths(samples: dict[str, str], skip: tuple[str, ...] = ("/dang-xuat",)) -> list[str]:
    """Every GET address the pages serve; an address with parameters when `samples` gives a value for each (the
    benchmark and the tests that visit every page use this, so a new page is visited without being listed)."""
    paths = set()
    for module in page_modules():
        for route in module.router.routes:
            if "GET" not in getattr(route, "methods", ()) or route.path in skip:
                continue
            if all(name in samples for name in route.param_convertors):
                path = route.path
                for name in route.param_convertors:
                    path = path.replace("{" + name + "}", samples[name])
                paths.add(path)
    return sorted(paths)


def install_pages(app: FastAPI, container: Container) -> None:
    """Static files, /docs and the pages; call after the API routes."""
    assets = install_assets(app, container.settings.frontend_dir)
    app.state.pages = Pages(container, assets)
    for module in page_modules():
        app.include_router(module.router)
