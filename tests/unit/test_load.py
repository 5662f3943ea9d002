"""Loader pieces that need no database: identity paths, record screening."""

from __future__ import annotations

import pytest

from ml.core.errors import LoadError
from ml.data import datasets, files


@pytest.mark.parametrize(
    ("field", "path"),
    [
        ("identityMap.ECID[0].id", '$."identityMap"."ECID"[0]."id"'),
        ("_acme.userid", '$."_acme"."userid"'),
        ("personID", '$."personID"'),
    ],
)
def test_identity_field_becomes_a_jsonpath(field, path):
    assert datasets.identity_jsonpath(field) == path


@pytest.mark.parametrize(
    "field",
    ["", "a..b", 'a"b', "a.b') or true --", "a[x]", "a b"],
)
def test_identity_fields_that_are_not_paths_are_refused(field):
    with pytest.raises(LoadError):
        datasets.identity_jsonpath(field)


def test_screen_refuses_what_copy_cannot_carry():
    assert files.screen_record(b'{"a": "b"}') is None
    assert files.screen_record(b'{"a":\t"b"}') is None
    assert "UTF-8" in files.screen_record(b'{"a": "\xff"}')
    assert "0x00" in files.screen_record(b'{"a": "\x00"}')
    assert "0x0d" in files.screen_record(b'{"a": 1}\r{"b": 2}')
