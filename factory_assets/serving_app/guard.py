"""A pure ASGI layer in front of the app: body size limit and optional bearer token.

Pure ASGI (not BaseHTTPMiddleware) because it runs on every request of a latency budget.
"""

import hmac
import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send


async def _reply(send: Send, status: int, detail: str, headers: list | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    base = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": base + (headers or [])})
    await send({"type": "http.response.body", "body": body})


class Guard:
    """413 for bodies over ``max_body_bytes``; 401 on ``/v1/`` without the token, if one is set."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, token: str | None) -> None:
        self.app = app
        self.limit = max_body_bytes
        self.token = None if token is None else f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the token and the declared size, then count the body as it is read."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if self.token is not None and scope["path"].startswith("/v1/"):
            given = headers.get(b"authorization", b"")
            if not hmac.compare_digest(given, self.token):
                why = "missing bearer token" if not given else "invalid bearer token"
                await _reply(send, 401, why, [(b"www-authenticate", b"Bearer")])
                return
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await _reply(send, 413, self._too_large(int(declared)))
            return
        seen, over = 0, False

        async def limited() -> Message:
            nonlocal seen, over
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:  # stop reading; the app's answer is replaced by a 413
                over = True
                return {"type": "http.request", "body": b"", "more_body": False}
            return message

        async def replaced(message: Message) -> None:
            if not over:
                await send(message)
            elif message["type"] == "http.response.start":
                await _reply(send, 413, self._too_large(seen))

        await self.app(scope, limited, replaced)

    def _too_large(self, size: int) -> str:
        return f"request body of {size}+ bytes exceeds the limit of {self.limit} bytes"
