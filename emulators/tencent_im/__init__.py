"""An in-memory Tencent Cloud IM (Chat) app that answers as the docs say (``docs/tencent-im.md``).

Public API::

    create_app(config: TencentEmulatorConfig, *, http: httpx.AsyncClient | None = None) -> Starlette
    main_app_from_env(environ: Mapping[str, str] | None = None, callback_url: str | None = None,
                      *, http: httpx.AsyncClient | None = None) -> Starlette
    TencentEmulatorConfig(sdkappid: int, secret_key: str, admin_identifier: str = "administrator",
                          callback_url: str | None = None, callback_token: str | None = None, ...)
    TencentEmulatorConfig.from_env(environ: Mapping[str, str], callback_url: str | None)
        reads TIM_SDKAPPID, TIM_SECRET_KEY, TIM_ADMIN_IDENTIFIER (default "administrator"),
        TIM_CALLBACK_TOKEN (optional); raises ValueError naming a missing/malformed variable.

``app.state.emulator`` is the :class:`TencentEmulator` (state, delivery log, ``await drain()``).
Routes: ``POST /v4/<service>/<command>`` (the REST API) and the ``/_emulator/...`` test API
(see :mod:`emulators.tencent_im.control`). It imports nothing from :mod:`gateway`.
"""

from emulators.tencent_im.app import create_app, main_app_from_env
from emulators.tencent_im.config import TencentEmulatorConfig
from emulators.tencent_im.emulator import TencentEmulator

__all__ = ["TencentEmulator", "TencentEmulatorConfig", "create_app", "main_app_from_env"]
