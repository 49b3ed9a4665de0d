"""dgnb.results.frames: generic JSON records -> typed DataFrame."""
from __future__ import annotations

import doctest
import json

import numpy as np
import pandas as pd
import pytest

from conftest import REFERENCE, recorded
from dgnb.results import frames
from dgnb.results.frames import column, empty, frame

SPEC = {"id": "string", "start": "float64", "count": "Int64", "ok": "boolean", "when": "datetime",
        "kind": "category", "tags": "object", "n": "int64"}


def test_columns_in_spec_order_with_dtypes():
    df = frame([{"n": 1, "id": "a", "start": 1.5, "count": 2, "ok": True, "when": "2024-01-15T09:30:00Z",
                 "kind": "x", "tags": ["t1", "t2"], "ignored": 9}], SPEC)
    assert list(df.columns) == list(SPEC)
    assert df.dtypes.astype(str).to_dict() == {
        "id": "string", "start": "float64", "count": "Int64", "ok": "boolean",
        "when": "datetime64[ns, UTC]", "kind": "category", "tags": "object", "n": "int64"}
    row = df.iloc[0]
    assert (row["id"], row["start"], row["count"], row["ok"], row["kind"], row["n"]) == ("a", 1.5, 2, True, "x", 1)
    assert row["tags"] == ["t1", "t2"]
    assert row["when"] == pd.Timestamp("2024-01-15T09:30:00Z")


def test_missing_keys_become_missing_values():
    df = frame([{"id": "a"}, {"start": 2.0}], {"id": "string", "start": "float64", "count": "Int64"})
    assert df["id"].isna().tolist() == [False, True]
    assert np.isnan(df["start"].iloc[0]) and df["start"].iloc[1] == 2.0
    assert df["count"].isna().all() and str(df["count"].dtype) == "Int64"


FULL = {"id": "a", "start": 1.0, "count": 1, "ok": True, "when": "2024-01-15T09:30:00Z", "kind": "x",
        "tags": [], "n": 1, "a": 0.5}


@pytest.mark.parametrize("spec", [SPEC, {"a": "float64"}, {}])
def test_empty_frames_keep_columns_and_dtypes(spec):
    for df in (empty(spec), frame([], spec)):
        assert df.empty and list(df.columns) == list(spec)
        assert df.dtypes.astype(str).tolist() == frame([FULL], spec).dtypes.astype(str).tolist()


def test_values_give_whole_columns_scalar_or_sequence():
    records = [{"w": "a"}, {"w": "b"}, {"w": "c"}]
    df = frame(records, {"channel": "int64", "index": "int64", "w": "string"},
               values={"channel": 2, "index": np.arange(3)})
    assert df["channel"].tolist() == [2, 2, 2] and df["index"].tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="column 'index': 2 values given for 3 records"):
        frame(records, {"index": "int64"}, values={"index": [0, 1]})


def test_optional_columns_only_when_some_record_has_them():
    spec = {"word": "string"}
    assert list(frame([{"word": "a"}], spec, optional={"language": "string"}).columns) == ["word"]
    df = frame([{"word": "a"}, {"word": "b", "language": "fr"}], spec, optional={"language": "string"})
    assert list(df.columns) == ["word", "language"]
    assert df["language"].isna().tolist() == [True, False]
    assert list(frame([], spec, optional={"language": "string"}).columns) == ["word"]


def test_values_that_do_not_fit_become_missing():
    assert column([1.5, "abc", None, [1]], "float64")[0] == 1.5
    assert np.isnan(column([1.5, "abc", None, [1]], "float64")[1:]).all()
    assert column([1, 2.0, 2.5, "x"], "Int64").tolist() == [1, 2, pd.NA, pd.NA]
    assert str(column([1, None], "int64").dtype) == "Int64"  # None -> nullable instead of failing
    assert column([1, "a", None], "string").tolist() == ["1", "a", pd.NA]
    assert column([True, "yes", None], "boolean").tolist() == [True, pd.NA, pd.NA]
    assert column(["not a date", None], "datetime").isna().all()
    assert list(column([[1], [2], [1]], "category").categories) == ["[1]", "[2]"]


def test_unknown_dtype_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown dtype 'decimal'"):
        frame([{"a": 1}], {"a": "decimal"})


@recorded
def test_reusable_for_management_api_records():
    """Records from a real endpoint shape: /v1/projects/{id}/requests."""
    examples = json.loads((REFERENCE / "deepgram-api-examples.json").read_text())
    body = next(e["response"] for e in examples if e["path"] == "/v1/projects/{project_id}/requests")
    df = frame(body["requests"], {"request_id": "string", "created": "datetime", "path": "string",
                                  "code": "Int64", "response": "object"})
    assert len(df) == len(body["requests"]) == 1
    assert df["created"].iloc[0] == pd.Timestamp("2024-01-15T09:30:00", tz="UTC")
    assert df["response"].iloc[0] == {"key": "value"}
    assert df["code"].isna().all()  # 1.1 is not a whole number: missing, not truncated


def test_doctests():
    assert doctest.testmod(frames).failed == 0
