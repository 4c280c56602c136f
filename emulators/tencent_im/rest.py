"""The v4 REST surface.

``POST /v4/<service>/<command>?sdkappid=&identifier=&usersig=&random=&contenttype=json``.

Only moves bytes between HTTP and :meth:`TencentEmulator.handle_rest`; Tencent answers HTTP 200
with an ActionStatus/ErrorCode envelope even on failure, so the status is 200 unless a fault
injects a gateway error.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from emulators.tencent_im.emulator import TencentEmulator


async def v4(request: Request) -> Response:
    emulator: TencentEmulator = request.app.state.emulator
    client_ip = request.client.host if request.client else "127.0.0.1"
    answer = await emulator.handle_rest(
        request.path_params["service"],
        request.path_params["command"],
        request.query_params,
        await request.body(),
        client_ip,
    )
    if isinstance(answer.body, str):
        return PlainTextResponse(answer.body, status_code=answer.status)
    return JSONResponse(answer.body, status_code=answer.status)


ROUTES = [Route("/v4/{service}/{command}", v4, methods=["POST"])]
