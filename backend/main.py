"""create_app(): routers, error handlers, and the built dashboard."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

from backend.api.hot_lists import FastLists
from backend.api.provider_text import HideProviderText
from backend.api.request_checks import refuse_nul
from backend.api.routes import (
    auth,
    evaluations,
    experiments,
    hub,
    invitations,
    jobs,
    judge,
    models,
    prices,
    projects,
    prompt_sets,
    reviews,
    runs,
    served,
    snapshots,
    teachers,
    tokens,
    users,
)
from backend.core.config import get_settings
from backend.core.errors import ERROR_RESPONSES, install_error_handlers
from backend.core.logging import configure_logging

OPENAPI_URL = "/api/openapi.json"


def create_app(*, fast_lists: bool = True) -> FastAPI:
    """The app; fast_lists=False leaves out the lists' fast path (backend/api/hot_lists.py), which its
    tests compare against."""
    settings = get_settings()
    configure_logging(settings.log_level)
    app = FastAPI(
        title="Distillery",
        version="0.1.0",
        description="Teacher-to-student distillation: prompts, rollouts, filtering, training, evaluation.",
        openapi_url=OPENAPI_URL,
        docs_url=None,  # _mount_api_docs: Swagger UI from the installation, not from a CDN
        redoc_url=None,
    )
    install_error_handlers(app)
    if fast_lists:  # inside HideProviderText, which rewrites its bodies as the routes'
        app.add_middleware(FastLists)
    app.add_middleware(HideProviderText)  # a provider's error text is for maintainers only
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["*"], allow_headers=["*"]
        )

    api = APIRouter(prefix="/api", dependencies=[Depends(refuse_nul)], responses=ERROR_RESPONSES)
    for module in (
        auth,
        users,
        tokens,
        projects,
        invitations,
        teachers,
        prompt_sets,
        runs,
        jobs,
        prices,
        snapshots,
        evaluations,
        experiments,
        judge,
        reviews,
        models,
        hub,
        served,
    ):
        api.include_router(module.router)

    @api.get("/health", operation_id="health", tags=["meta"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(api)
    _mount_api_docs(app)
    _mount_dashboard(app, settings.frontend_dist)
    return app


DOCS_ASSETS = "/docs/assets"


def _mount_api_docs(app: FastAPI) -> None:
    """/docs: Swagger UI whose script, style and icon come from the swagger-ui-bundle-v2 package
    (Swagger UI 5, which reads OpenAPI 3.1), so the page works without internet (FastAPI's own loads
    them from a CDN). ReDoc is off."""
    from swagger_ui_bundle import swagger_ui_path

    app.mount(DOCS_ASSETS, StaticFiles(directory=swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=OPENAPI_URL,
            title=f"{app.title} API",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
        )


def _mount_dashboard(app: FastAPI, dist) -> None:
    index = dist / "index.html"
    if not index.is_file():
        return
    if (dist / "assets").is_dir():
        app.mount("/assets", StaticFiles(directory=dist / "assets"), name="assets")

    # Client-side routes (/projects/3/runs) all load the single-page app.
    @app.get("/{path:path}", include_in_schema=False)
    def spa(path: str):
        if path.startswith("api/"):
            from backend.core.errors import NotFound

            raise NotFound(f"no route /{path}")
        candidate = (dist / path).resolve()
        if path and candidate.is_file() and dist.resolve() in candidate.parents:
            return FileResponse(candidate)
        return FileResponse(index)
