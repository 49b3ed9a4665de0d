"""Raw audio encodings of the API and their sample widths.

>>> from dgnb.protocol.audio import BYTES_PER_SAMPLE
>>> BYTES_PER_SAMPLE["linear16"], BYTES_PER_SAMPLE["mulaw"]
(2, 1)
"""
from __future__ import annotations

#: Bytes per sample (one channel) of each raw (container-less) encoding.
BYTES_PER_SAMPLE = {"linear16": 2, "linear32": 4, "mulaw": 1, "alaw": 1}
