"""Generic JSON records -> typed pandas DataFrame conversion.

A DataFrame is described by a column spec: an ordered mapping of column name to dtype
(``"float64"``, ``"int64"``, ``"Int64"``, ``"string"``, ``"boolean"``, ``"category"``,
``"datetime"`` (tz-aware UTC) or ``"object"``). :func:`frame` builds one column at a time
from the records (one list comprehension per column, no row-by-row appends), so a
100k-row frame takes milliseconds. Missing keys become missing values, and no records
give an empty frame that still has every column with its dtype.

Pure: pandas and numpy only, no I/O.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from .records import as_list, dig, number, segments

__all__ = ["Spec", "frame", "empty", "column", "dig", "as_list", "number", "segments"]

Spec = Mapping[str, str]
"""Column name -> dtype name, in display order."""

_SEQUENCES = (list, tuple, range, np.ndarray, pd.Series, pd.api.extensions.ExtensionArray)


def frame(
    records: Sequence[Mapping[str, Any]],
    columns: Spec,
    *,
    values: Mapping[str, Any] | None = None,
    optional: Spec | None = None,
) -> pd.DataFrame:
    """One typed row per record, with exactly the columns of the spec, in order.

    ``values`` gives whole columns directly (a sequence with one value per record, or a
    scalar repeated), for data that is not a key of the records (e.g. a channel index).
    ``optional`` columns are appended only when at least one record has that key.

    >>> df = frame([{"word": "hi", "start": 0.5}, {"word": "there"}],
    ...            {"channel": "int64", "word": "string", "start": "float64"},
    ...            values={"channel": 0})
    >>> df.dtypes.astype(str).tolist(), df["start"].isna().tolist()
    (['int64', 'string', 'float64'], [False, True])
    >>> list(frame([], {"word": "string", "start": "float64"}).columns)
    ['word', 'start']
    """
    n = len(records)
    values = values or {}
    data: dict[str, Any] = {}
    for name, dtype in columns.items():
        if name in values:
            given = values[name]
            if not isinstance(given, _SEQUENCES):
                given = [given] * n
            elif len(given) != n:
                raise ValueError(f"column {name!r}: {len(given)} values given for {n} records")
            data[name] = column(given, dtype)
        else:
            data[name] = column([r.get(name) for r in records], dtype)
    wanted = {name: dtype for name, dtype in (optional or {}).items() if name not in data}
    if wanted and records:
        present = set().union(*records)  # every key of every record, in one fast pass
        for name, dtype in wanted.items():
            if name in present:
                data[name] = column([r.get(name) for r in records], dtype)
    return pd.DataFrame(data, columns=list(data), copy=False)


def empty(columns: Spec) -> pd.DataFrame:
    """An empty DataFrame with the spec's columns and dtypes.

    >>> empty({"start": "float64", "speaker": "Int64"}).dtypes.astype(str).tolist()
    ['float64', 'Int64']
    """
    return frame([], columns)


def column(data: Sequence[Any], dtype: str) -> Any:
    """Convert a list of JSON values (None = missing) to an array of ``dtype``.

    Values that do not fit the dtype become missing rather than raising, so one odd
    value in a response never breaks a whole table.

    >>> column([1, None, 3], "Int64").tolist()
    [1, <NA>, 3]
    >>> column(["2024-05-12T18:57:13Z"], "datetime").dtype
    datetime64[ns, UTC]
    """
    if not isinstance(data, (list, np.ndarray, pd.api.extensions.ExtensionArray)):
        data = list(data)
    if dtype == "float64":
        try:
            return np.array(data, dtype="float64")
        except (TypeError, ValueError):
            return _numeric(data).to_numpy(dtype="float64", na_value=np.nan)
    if dtype == "int64":
        try:
            return np.array(data, dtype="int64")
        except (TypeError, ValueError, OverflowError):
            return column(data, "Int64")
    if dtype == "Int64":
        try:
            return pd.array(data, dtype="Int64")
        except (TypeError, ValueError, OverflowError):
            numbers = _numeric(data)
            whole = numbers.isna() | (numbers == numbers.round())
            return pd.array(numbers.where(whole), dtype="Int64")
    if dtype == "string":
        try:
            return pd.array(data, dtype="string")
        except (TypeError, ValueError):
            return pd.array([_text(v) for v in data], dtype="string")
    if dtype == "boolean":
        try:
            return pd.array(data, dtype="boolean")
        except (TypeError, ValueError):
            return pd.array([v if isinstance(v, bool) else None for v in data], dtype="boolean")
    if dtype == "category":
        try:
            return pd.Categorical(data)
        except TypeError:  # unhashable values such as lists
            return pd.Categorical([_text(v) for v in data])
    if dtype in ("datetime", "datetime64[ns, UTC]"):
        return pd.DatetimeIndex(
            pd.to_datetime(pd.Series(data, dtype="object"), utc=True, errors="coerce", format="ISO8601")
        ).as_unit("ns").array
    if dtype == "object":
        out = np.empty(len(data), dtype="object")
        for i, v in enumerate(data):
            out[i] = v
        return out
    raise ValueError(
        f"unknown dtype {dtype!r}: use float64, int64, Int64, string, boolean, category, datetime or object"
    )


def _numeric(data: Sequence[Any]) -> pd.Series:
    """Numbers as float, anything else (text, lists, booleans) as NaN."""
    clean = [v if isinstance(v, (int, float)) and not isinstance(v, bool) else None for v in data]
    return pd.Series(clean, dtype="float64")


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
