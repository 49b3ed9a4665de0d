"""The local price table and how a request is priced."""
from __future__ import annotations

#: Local price table in USD, modelled on Deepgram's pay-as-you-go list prices:
#: (endpoint, method) -> (price, unit). Units: "minute" of audio (duration x channels), "1k_chars" of text.
PRICES: dict[tuple[str, str], tuple[float, str]] = {
    ("listen", "sync"): (0.0043, "minute"),
    ("listen", "async"): (0.0043, "minute"),
    ("listen", "streaming"): (0.0077, "minute"),
    ("speak", "sync"): (0.030, "1k_chars"),
    ("speak", "streaming"): (0.030, "1k_chars"),
    ("read", "sync"): (0.0003, "1k_chars"),
    ("read", "async"): (0.0003, "1k_chars"),
}


def price_of(endpoint: str, method: str, *, duration: float, channels: int, characters: int) -> float:
    """USD charged for one successful request at the local price table :data:`PRICES`."""
    price, unit = PRICES.get((endpoint, method), (0.0, "minute"))
    if unit == "minute":
        return price * float(duration) * max(1, int(channels or 1)) / 60.0
    return price * int(characters or 0) / 1000.0


def endpoint_of(path: str) -> str:
    """``/v1/listen`` -> ``listen``."""
    parts = [p for p in path.split("/") if p]
    return parts[1] if len(parts) > 1 else (parts[0] if parts else "")


def method_of(http_method: str, callback: str | None) -> str:
    """Deepgram's processing method: ``streaming`` (WebSocket), ``async`` (callback) or ``sync``."""
    if http_method.upper() == "GET":
        return "streaming"
    return "async" if callback else "sync"
