"""The scoring API: ``POST /v1/models/{name}/predict``, ``GET /v1/models``, ``GET /healthz``."""

import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.types import ASGIApp, Receive, Scope, Send

from factory_assets.lib.online.request import InputError
from factory_assets.lib.online.shadow import ShadowLog
from factory_assets.serving_app.guard import Guard
from factory_assets.serving_app.schemas import ModelInfo, PredictRequest, PredictResponse
from factory_assets.serving_app.state import ServingState
from factory_assets.settings import Settings

log = logging.getLogger("factory.serving")
COMPONENTS = "#/components/schemas/"
REQUEST_BODY = {
    "required": True,
    "content": {"application/json": {"schema": {"$ref": f"{COMPONENTS}PredictRequest"}}},
}
MISSING_BODY = {"loc": ["body"], "msg": "Field required", "type": "missing"}


def _clean(errors: list[dict]) -> list[dict]:
    """loc, msg and type of each error: never the input (it may be NaN, which JSON cannot hold)."""
    return [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in errors]


def _detail(message: str) -> bytes:
    return orjson.dumps({"detail": message})


class FastLane:
    """``POST /v1/models/{name}/predict`` straight to the endpoint's code, past FastAPI.

    Pure ASGI, like the Guard: FastAPI's middleware, routing and dependency solving cost about
    as much as scoring a flight. The FastAPI route stays for the OpenAPI schema and ``/docs``.
    Every other request goes to the app.
    """

    PREFIX, SUFFIX = "/v1/models/", "/predict"

    def __init__(self, app: ASGIApp, score: Callable[[str, bytes], tuple[int, bytes]]) -> None:
        self.app, self.score = app, score

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a predict request, or pass the request on."""
        path = scope.get("path", "")
        name = path[len(self.PREFIX) : -len(self.SUFFIX)]
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or not path.startswith(self.PREFIX)
            or not path.endswith(self.SUFFIX)
            or not name
            or "/" in name
        ):
            await self.app(scope, receive, send)
            return
        chunks, more = [], True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        status, content = self.score(name, b"".join(chunks))
        headers = [(b"content-type", b"application/json")]
        headers.append((b"content-length", str(len(content)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})


def create_app(settings: Settings) -> ASGIApp:
    """The FastAPI app over ``settings`` behind the FastLane and the Guard.

    Its lifespan runs the registry poller (and the shadow log's writer).
    """
    state = ServingState(settings)
    shadow: list[ShadowLog] = []

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        state.start()
        if settings.serve_shadow:
            shadow.append(ShadowLog(Path(settings.online_dir) / "shadow"))
        yield
        state.stop()
        for writer in shadow:
            writer.close()

    app = FastAPI(
        title="factory scoring service",
        version="1",
        summary="Scores flights with the registry's champion; features from the online snapshot.",
        lifespan=lifespan,
    )
    app.state.serving = state

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _clean(exc.errors())}, status_code=422)

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        """200 when every model has a champion loaded and a snapshot is there, else 503."""
        versions = {
            name: getattr(state.champions.get(name), "version", None)
            for name in settings.serve_models
        }
        features = state.features
        ready = features is not None and all(versions.values())
        body = {
            "status": "ok" if ready else "loading",
            "models": versions,
            "snapshot_as_of": None if features is None else features.manifest.as_of,
        }
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.get("/v1/models", response_model=list[ModelInfo])
    async def models() -> list[dict]:
        """The served models, their champion versions and shadow challengers."""
        out = []
        for name in settings.serve_models:
            champion, challenger = state.champions.get(name), state.challengers.get(name)
            out.append(
                {
                    "name": name,
                    "version": getattr(champion, "version", None),
                    "loaded_at": getattr(champion, "loaded_at", None),
                    "challenger_version": getattr(challenger, "version", None),
                    "shadow": settings.serve_shadow,
                }
            )
        return out

    def score(name: str, raw: bytes) -> tuple[int, bytes]:
        """Status and JSON body of ``POST /v1/models/{name}/predict``: the endpoint's one code.

        The body is validated by pydantic straight from the bytes (its Rust JSON parser), with
        FastAPI's error shape (``loc`` starts with "body"); features are lookups in the
        snapshot's tables (``OnlineFeatures.rows``); the answer is serialized by orjson.
        """
        if name not in settings.serve_models:
            return 404, _detail(f"unknown model {name!r}; served: {list(settings.serve_models)}")
        if not raw:
            return 422, orjson.dumps({"detail": [MISSING_BODY]})
        try:
            body = PredictRequest.model_validate_json(raw)
        except ValidationError as exc:
            detail = [{**e, "loc": ["body", *e["loc"]]} for e in _clean(exc.errors())]
            return 422, orjson.dumps({"detail": detail})
        champion, features = state.champions.get(name), state.features  # held to the end
        if champion is None or features is None:
            return 503, _detail(f"model {name!r} has no champion or snapshot loaded yet")
        if len(body.flights) > settings.serve_max_rows:
            return 413, _detail(
                f"batch of {len(body.flights)} flights exceeds the limit of "
                f"{settings.serve_max_rows}"
            )
        try:
            # Flight has the attributes of ScheduledFlight: the validated rows go as they are
            block = features.rows(body.flights)
        except InputError as exc:
            return 422, orjson.dumps({"detail": exc.errors})
        probabilities = champion.scorer.predict(block)
        challenger = state.challengers.get(name)
        if shadow and challenger is not None:
            shadow[0].submit(uuid.uuid4().hex, champion, challenger, block, probabilities)
        predictions = [
            {"flight_id": i, "probability": p}
            for i, p in zip(block.flight_id, probabilities.tolist(), strict=True)
        ]
        answer = {
            "model": name,
            "version": champion.version,
            "snapshot_as_of": features.manifest.as_of,
            "predictions": predictions,
        }
        return 200, orjson.dumps(answer)

    @app.post(
        "/v1/models/{name}/predict",
        response_model=PredictResponse,
        responses={401: {}, 404: {}, 413: {}, 422: {}, 503: {}},
        openapi_extra={"requestBody": REQUEST_BODY},
    )
    async def predict(name: str, request: Request) -> Response:
        """Probability of a late arrival (> 15 min) for each flight, from the champion.

        Requests reach ``score`` through the FastLane in front of the app; this route gives
        the endpoint its OpenAPI entry and serves it should the lane ever pass one on.
        """
        status, content = score(name, await request.body())
        return Response(content, status_code=status, media_type="application/json")

    def openapi() -> dict:
        """FastAPI's schema plus PredictRequest (the body is validated in ``predict``)."""
        if app.openapi_schema is None:
            schema = FastAPI.openapi(app)
            request = PredictRequest.model_json_schema(ref_template=f"{COMPONENTS}{{model}}")
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(request.pop("$defs", {}))
            components["PredictRequest"] = request
        return app.openapi_schema

    app.openapi = openapi
    token = settings.serve_token.get_secret_value() if settings.serve_token else None
    return Guard(FastLane(app, score), settings.serve_max_body_bytes, token)
