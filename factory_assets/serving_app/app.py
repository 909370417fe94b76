"""The scoring API: ``POST /v1/models/{name}/predict``, ``GET /v1/models``, ``GET /healthz``."""

import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.types import ASGIApp

from factory_assets.lib.online.lookup_online import Unavailable
from factory_assets.lib.online.request import InputError
from factory_assets.lib.online.shadow import ShadowLog
from factory_assets.serving_app.guard import Guard
from factory_assets.serving_app.schemas import ModelInfo, PredictResponse
from factory_assets.serving_app.state import ServingState
from factory_assets.settings import Settings

log = logging.getLogger("factory.serving")
COMPONENTS = "#/components/schemas/"
REQUEST_BODY = {"required": True, "content": {"application/json": {"schema": {}}}}
MISSING_BODY = {"loc": ["body"], "msg": "Field required", "type": "missing"}


def _clean(errors: list[dict]) -> list[dict]:
    """loc, msg and type of each error: never the input (it may be NaN, which JSON cannot hold)."""
    return [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in errors]


def _detail(message: str) -> bytes:
    return orjson.dumps({"detail": message})


def create_app(settings: Settings) -> ASGIApp:
    """The FastAPI app over ``settings`` behind the Guard (body limit, token).

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
        summary="Every model spec's champion, its inputs from the request and its online snapshot.",
        lifespan=lifespan,
    )
    app.state.serving = state

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _clean(exc.errors())}, status_code=422)

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        """200 when every model has its snapshot and a champion, else 503 and what is missing."""
        models, missing = {}, {}
        for name in state.models():
            online = state.online.get(name)
            versions = {r: getattr(state.champions.get(r), "version", None)
                        for r in state.registered(name)}  # fmt: skip
            models[name] = {
                "versions": versions,
                "snapshot_as_of": None if online is None else online.as_of,
            }
            why = _missing(name, online, versions)
            if why:
                missing[name] = why
        body = {"status": "loading" if missing else "ok", "models": models, "missing": missing}
        return JSONResponse(body, status_code=503 if missing else 200)

    @app.get("/v1/models", response_model=list[ModelInfo])
    async def models() -> list[dict]:
        """The served models, their champion versions and shadow challengers."""
        out = []
        for name in state.models():
            online = state.online.get(name)
            registered = state.registered(name)
            champions = {r: getattr(state.champions.get(r), "version", None) for r in registered}
            challengers = {r: getattr(state.challengers.get(r), "version", None)
                           for r in registered}  # fmt: skip
            out.append(
                {
                    "name": name,
                    "version": champions.get(name),
                    "versions": champions,
                    "loaded_at": getattr(state.champions.get(name), "loaded_at", None),
                    "challenger_version": challengers.get(name),
                    "challenger_versions": challengers,
                    "shadow": settings.serve_shadow,
                    "snapshot_as_of": None if online is None else online.as_of,
                }
            )
        return out

    def score(name: str, raw: bytes) -> tuple[int, bytes]:
        """Status and JSON body of ``POST /v1/models/{name}/predict``: the endpoint's one code.

        The body is validated by the model's request model (generated from its contract)
        straight from the bytes, with FastAPI's error shape (``loc`` starts with "body"); its
        rows are completed from the model's online snapshot and scored by the champion of each
        row's segment; the answer is serialized by orjson.
        """
        if name not in state.models():
            return 404, _detail(f"unknown model {name!r}; served: {state.models()}")
        online = state.online.get(name)  # held to the end: a swap does not touch this request
        if online is None:
            return 503, _detail(_missing(name, None, {}))
        if not raw:
            return 422, orjson.dumps({"detail": [MISSING_BODY]})
        try:
            body = online.request_model.model_validate_json(raw)
        except ValidationError as exc:
            detail = [{**e, "loc": ["body", *e["loc"]]} for e in _clean(exc.errors())]
            return 422, orjson.dumps({"detail": detail})
        rows = len(getattr(body, online.items))
        if rows > settings.serve_max_rows:
            return 413, _detail(
                f"batch of {rows} rows exceeds the limit of {settings.serve_max_rows}"
            )
        registered = online.contract.registered
        served = {r: state.champions[r] for r in registered if r in state.champions}
        try:
            answer = online.answer(body, served)
        except InputError as exc:
            return 422, orjson.dumps({"detail": exc.errors})
        except Unavailable as exc:
            return 503, _detail(f"{exc}: {_package_hint(name, registered)}")
        if shadow:
            request_id = uuid.uuid4().hex
            for part in answer.shadow:
                challenger = state.challengers.get(part[0])
                if challenger is not None:
                    champion = served[part[0]]
                    shadow[0].submit(
                        request_id, name, online.contract.key, champion, challenger, part
                    )
        versions = answer.versions
        single = next(iter(versions.values())) if len(versions) == 1 else None
        out = {
            "model": name,
            "version": single,
            "versions": versions,
            "snapshot_as_of": online.as_of,
            "predictions": answer.predictions,
        }
        return 200, orjson.dumps(out)

    @app.post(
        "/v1/models/{name}/predict",
        response_model=PredictResponse,
        responses={401: {}, 404: {}, 413: {}, 422: {}, 503: {}},
        openapi_extra={"requestBody": REQUEST_BODY},
    )
    async def predict(name: str, request: Request) -> Response:
        """Predictions of each row from the champion of the model (of its segment).

        The body's schema is the model's own: ``POST /v1/models/<model>/predict`` below lists
        it per model; it is validated in ``score`` straight from the bytes.
        """
        status, content = score(name, await request.body())
        return Response(content, status_code=status, media_type="application/json")

    def openapi() -> dict:
        """FastAPI's schema plus one path per loaded model with its generated request schema."""
        schema = FastAPI.openapi(app)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        generic = schema["paths"]["/v1/models/{name}/predict"]["post"]
        for name, online in sorted(state.online.items()):
            model = online.request_model
            request = model.model_json_schema(ref_template=f"{COMPONENTS}{{model}}")
            components.update(request.pop("$defs", {}))
            components[model.__name__] = request
            body = {"required": True, "content": {"application/json": {
                "schema": {"$ref": f"{COMPONENTS}{model.__name__}"}}}}  # fmt: skip
            operation = {k: v for k, v in generic.items() if k != "parameters"}
            operation |= {
                "operationId": f"predict_{name}",
                "summary": f"Predict with {name}",
                "description": (model.__doc__ or "").strip(),
                "requestBody": body,
            }
            schema["paths"][f"/v1/models/{name}/predict"] = {"post": operation}
        generic["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": {"oneOf": [{"$ref": f"{COMPONENTS}{o.request_model.__name__}"}
                                 for o in state.online.values()]}}}}  # fmt: skip
        app.openapi_schema = schema
        return schema

    app.openapi = openapi
    token = settings.serve_token.get_secret_value() if settings.serve_token else None
    return Guard(app, settings.serve_max_body_bytes, token)


def _missing(name: str, online: object, versions: dict) -> str | None:
    """What model ``name`` lacks to answer, and what makes it; None when nothing."""
    if online is None:
        return (
            f"model {name!r} has no online snapshot yet: materialize the asset "
            f"{name}_online_snapshot (the line makes it with scoring: `make demo`, or "
            "materialize it in the Dagster UI, `make ui`)"
        )
    absent = [r for r, v in versions.items() if v is None]
    if absent and len(absent) == len(versions):
        return f"model {name!r} has no champion loaded: {_package_hint(name, absent)}"
    return None


def _package_hint(name: str, registered: list[str]) -> str:
    return (
        f"register a champion of {', '.join(registered)} (materialize {name}_package, or run "
        f"retrain_{name}; `make demo` trains every model)"
    )
