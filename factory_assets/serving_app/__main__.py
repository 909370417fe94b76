"""``python -m factory_assets.serving_app [--host H] [--port P]``: run the scoring service."""

import argparse
import logging

import uvicorn
from starlette.types import ASGIApp

from factory_assets.serving_app.app import create_app
from factory_assets.settings import settings


def app_from_env() -> ASGIApp:
    """The app with settings from the environment (what each uvicorn worker builds)."""
    return create_app(settings())


def main(argv: list[str] | None = None) -> None:
    """Serve on ``host:port`` (127.0.0.1:8000 by default) with settings from the environment."""
    parser = argparse.ArgumentParser(prog="python -m factory_assets.serving_app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1, help="processes (each polls alone)")
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    uvicorn.run(
        "factory_assets.serving_app.__main__:app_from_env",
        factory=True,
        workers=args.workers,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=False,  # a log line per request costs more than scoring one flight
        http="httptools",
        loop="uvloop",
    )


if __name__ == "__main__":
    main()
