"""The scoring API: ``POST /v1/models/{name}/predict``, ``GET /v1/models``, ``GET /healthz``."""

import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp

from factory_assets.lib.online.features import InputError, ScheduledFlight
from factory_assets.lib.online.shadow import ShadowLog
from factory_assets.serving_app.guard import Guard
from factory_assets.serving_app.schemas import ModelInfo, PredictRequest, PredictResponse
from factory_assets.serving_app.settings import Settings
from factory_assets.serving_app.state import ServingState

log = logging.getLogger("factory.serving")


def _clean(errors: list[dict]) -> list[dict]:
    """loc, msg and type of each error: never the input (it may be NaN, which JSON cannot hold)."""
    return [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in errors]


def create_app(settings: Settings) -> ASGIApp:
    """The FastAPI app over ``settings`` behind the Guard; its lifespan runs the poller."""
    state = ServingState(settings)
    shadow: list[ShadowLog] = []

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        state.start()
        if settings.shadow:
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
            name: getattr(state.champions.get(name), "version", None) for name in settings.models
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
        for name in settings.models:
            champion, challenger = state.champions.get(name), state.challengers.get(name)
            out.append(
                {
                    "name": name,
                    "version": getattr(champion, "version", None),
                    "loaded_at": getattr(champion, "loaded_at", None),
                    "challenger_version": getattr(challenger, "version", None),
                    "shadow": settings.shadow,
                }
            )
        return out

    @app.post(
        "/v1/models/{name}/predict",
        response_model=PredictResponse,
        responses={401: {}, 404: {}, 413: {}, 422: {}, 503: {}},
    )
    async def predict(name: str, body: PredictRequest) -> dict:
        """Probability of a late arrival (> 15 min) for each flight, from the champion."""
        if name not in settings.models:
            raise HTTPException(404, f"unknown model {name!r}; served: {list(settings.models)}")
        champion, features = state.champions.get(name), state.features  # held to the end
        if champion is None or features is None:
            raise HTTPException(503, f"model {name!r} has no champion or snapshot loaded yet")
        if len(body.flights) > settings.max_rows:
            raise HTTPException(
                413,
                f"batch of {len(body.flights)} flights exceeds the limit of {settings.max_rows}",
            )
        rows = [
            ScheduledFlight(
                f.flight_date,
                f.sched_dep_time,
                f.carrier,
                f.flight,
                f.origin,
                f.dest,
                f.distance,
                f.tailnum,
            )
            for f in body.flights
        ]
        try:
            frame = features.features(features.schedule(rows))
        except InputError as exc:
            return JSONResponse({"detail": exc.errors}, status_code=422)
        probabilities = champion.model.predict(frame)
        challenger = state.challengers.get(name)
        if shadow and challenger is not None:
            shadow[0].submit(uuid.uuid4().hex, champion, challenger, frame, probabilities)
        return {
            "model": name,
            "version": champion.version,
            "snapshot_as_of": features.manifest.as_of,
            "predictions": [
                {"flight_id": i, "probability": float(p)}
                for i, p in zip(frame["flight_id"], probabilities, strict=True)
            ],
        }

    return Guard(app, settings.max_body_bytes, settings.token)
