"""The engine's settings: limits and timeouts, read once when the engine starts.

Each has an environment variable, read by :meth:`EngineSettings.from_env`; arguments of
``create_app``/``dgnb serve`` win over the environment. The routes read them from
``engine.settings``, never from the environment.

>>> EngineSettings.from_env({"DGNB_LIVE_IDLE_TIMEOUT": "3"}).live_idle_timeout
3.0
>>> EngineSettings.from_env({"DGNB_LIVE_IDLE_TIMEOUT": "soon"}).live_idle_timeout
10.0
"""
from __future__ import annotations

import os
from dataclasses import dataclass, fields
from typing import Mapping

#: field -> environment variable
ENV = {
    "max_upload_bytes": "DGNB_MAX_UPLOAD_BYTES",
    "url_timeout": "DGNB_URL_TIMEOUT",
    "live_idle_timeout": "DGNB_LIVE_IDLE_TIMEOUT",
    "agent_idle_timeout": "DGNB_AGENT_IDLE_TIMEOUT",
    "agent_function_timeout": "DGNB_AGENT_FUNCTION_TIMEOUT",
}


@dataclass
class EngineSettings:
    """Limits of one engine (sizes in bytes, times in seconds)."""

    max_upload_bytes: int = 2 * 1024**3
    url_timeout: float = 120.0
    live_idle_timeout: float = 10.0       # Deepgram closes a live stream after 10 s with neither audio nor text
    agent_idle_timeout: float = 10.0
    agent_function_timeout: float = 30.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides) -> "EngineSettings":
        """Defaults, replaced by valid positive values of the environment, then by ``overrides`` not None."""
        environ = os.environ if environ is None else environ
        settings = cls()
        for f in fields(cls):
            kind = type(getattr(settings, f.name))
            raw = overrides.get(f.name)
            if raw is None:
                raw = environ.get(ENV[f.name])
            try:
                value = kind(float(raw)) if raw not in (None, "") else None
            except ValueError:
                value = None
            if value is not None and value > 0:
                setattr(settings, f.name, value)
        return settings
