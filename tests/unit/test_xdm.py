"""Vectorised XDM building blocks against plain-Python equivalents."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import numpy as np

from ml.synthetic import xdm


def test_iso_timestamps_match_datetime_formatting():
    rng = np.random.default_rng(3)
    ms = rng.integers(0, 4_102_444_800_000, 5_000)  # 1970 .. 2100
    ms = np.concatenate([ms, [0, 951_782_400_000, 4_107_542_399_999]])  # leap days
    ours = xdm.iso_timestamps(ms).to_pylist()
    for value, text in zip(ms.tolist(), ours, strict=True):
        moment = dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=value)
        assert text == moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value % 1000:03d}Z"


def test_ecids_are_38_digits_derived_from_the_email():
    emails = ["a@example.com", "b@example.com", "a@example.com"]
    ids = xdm.fixed_width_strings(xdm.ecid_matrix(emails)).to_pylist()
    assert all(len(i) == 38 and i.isdigit() for i in ids)
    assert ids[0] == ids[2] != ids[1]
    digest = hashlib.sha256(b"a@example.com").digest()
    high = int.from_bytes(digest[:8], "big") % 10**19
    low = int.from_bytes(digest[8:16], "big") % 10**19
    assert ids[0] == f"{high:019d}{low:019d}"


def test_template_renders_valid_json_with_padded_fields():
    codes = np.array([0, 2, 1])
    options = ["home", "product-detail", "blog"]
    page = xdm.padded(options, codes, '"')
    template = xdm.Template('{"n":"', ("page", page.shape[1]), ',"x":1}')
    rendered = template.render(3, page=page).to_pylist()
    assert [json.loads(text)["n"] for text in rendered] == [
        "home",
        "blog",
        "product-detail",
    ]


def test_decimal_matrix_is_a_json_number():
    values = np.array([5.0, 123.456, 0.01])
    rendered = xdm.fixed_width_strings(xdm.decimal_matrix(values, 2, 8)).to_pylist()
    assert [json.loads(text) for text in rendered] == [5.0, 123.46, 0.01]


def test_hex_ids_are_unique_and_hex():
    ids = xdm.hex_ids(np.random.default_rng(1), 10_000).to_pylist()
    assert len(set(ids)) == 10_000
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
