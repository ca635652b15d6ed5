"""The FastAPI application: routers of every dialect over one engine."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from omniembed import __version__
from omniembed.api.audio import router as audio_router
from omniembed.api.auth import ApiKeyMiddleware, load_keys
from omniembed.api.cohere.router import router as cohere_router
from omniembed.api.collections.router import router as collections_router
from omniembed.api.collections.thumbnails import router as thumbnails_router
from omniembed.api.console import install_console
from omniembed.api.direct import DirectRoutes
from omniembed.api.docs import install_docs
from omniembed.api.errors import install_error_handlers
from omniembed.api.infinity.router import router as infinity_router
from omniembed.api.middleware import RequestLifecycleMiddleware
from omniembed.api.openai.pooling import router as pooling_router
from omniembed.api.openai.router import router as openai_router
from omniembed.api.openapi import install_openapi
from omniembed.api.rerank.router import cohere_router as cohere_rerank_router
from omniembed.api.rerank.router import router as rerank_router
from omniembed.api.response_schemas import type_responses
from omniembed.api.scoring.router import router as scoring_router
from omniembed.api.seed.llama_stack import router as llama_stack_router
from omniembed.api.seed.mes import router as mes_router
from omniembed.api.seed.samba import router as samba_router
from omniembed.api.shared_paths import router as shared_router
from omniembed.api.sparse import router as sparse_router
from omniembed.api.state import Services
from omniembed.api.system import router as system_router
from omniembed.api.tokenize import router as tokenize_router
from omniembed.api.video import router as video_router
from omniembed.engine.bootstrap import engine_from_settings, load_models
from omniembed.engine.engine import Engine
from omniembed.settings import Settings

logger = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    """Build the app. With `engine` given (tests, embedding in another app) its models are used as
    they are; otherwise the engine is built from settings and the models load at startup."""
    settings = settings or Settings()
    owned = engine is None
    engine = engine or engine_from_settings(settings)
    services = Services(engine=engine, settings=settings, started=time.time())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if owned:
            await load_models(engine, settings)
        try:
            yield
        finally:
            services.draining = True
            services.close()
            if owned:
                await engine.close()

    app = FastAPI(
        title="omniembed",
        version=__version__,
        description="Aligned text, image and video embeddings over OpenAI-, Cohere- and seed-compatible APIs",
        lifespan=lifespan,
        # "/path/" is a JSON 404 like any unknown path, not a 307 that SDKs do not follow and that
        # would send a POST body elsewhere.
        redirect_slashes=False,
        # Served by install_docs from installed files: FastAPI's pages load theirs from a CDN.
        docs_url=None,
        redoc_url=None,
    )
    app.state.services = services
    install_error_handlers(app)
    routers = (
        system_router,
        shared_router,  # GET /models: Intel MES's and Infinity's listing in one body
        openai_router,
        cohere_router,
        scoring_router,
        llama_stack_router,
        mes_router,
        samba_router,
        video_router,
        audio_router,
        collections_router,
        infinity_router,
        tokenize_router,
        pooling_router,
        sparse_router,
    )
    for router in routers:
        app.include_router(router)
    # Reranking: Cohere's /v2/rerank and /v1/rerank, and TEI's and Jina's/vLLM's /rerank.
    app.include_router(cohere_rerank_router)
    app.include_router(rerank_router)
    app.include_router(thumbnails_router)
    install_openapi(app)
    type_responses(app)
    install_docs(app)
    install_console(app)  # the web console at / (static files inside the package)
    # Innermost: authenticated and counted like every other request, then served without FastAPI.
    direct = [route for router in (openai_router, cohere_router) for route in router.routes]
    app.add_middleware(DirectRoutes, routes=direct, handlers=app.exception_handlers)
    # Middleware answers some requests before routing, in the error shape of the path's dialect.
    cohere_routes = [*cohere_router.routes, *cohere_rerank_router.routes]
    cohere_paths = frozenset(route.path for route in cohere_routes if hasattr(route, "path"))
    keys = load_keys(settings.api_keys, settings.api_key_file)
    if keys:
        app.add_middleware(ApiKeyMiddleware, keys=keys, cohere_paths=cohere_paths)
    # Added last = outermost: request ids, metrics and the body limit also cover refused requests.
    app.add_middleware(
        RequestLifecycleMiddleware,
        max_body_bytes=settings.max_request_bytes,
        metrics=engine.metrics,
        cohere_paths=cohere_paths,
    )
    return app
