"""Errors of the handling's API: the version conflict's words (naming `expectedVersion` only to a caller who
sent one), and the filters refusing a blank assignee."""

from __future__ import annotations

import pytest

from service.api.errors import BadInput
from service.api.findings import change_filter
from service.api.handling import VersionConflictError
from service.handling.commands import VersionConflict


def test_a_stale_expected_version_is_named() -> None:
    error = VersionConflictError(VersionConflict(2, 1))
    assert error.message == ("expectedVersion: the finding's handling is at version 2, not 1: someone acted on it "
                             "meanwhile; read it again and retry with expectedVersion 2")
    assert error.extensions == {"code": "VERSION_CONFLICT", "currentVersion": 2}


def test_a_caller_who_sent_no_expected_version_is_told_to_try_again() -> None:
    error = VersionConflictError(VersionConflict(3, None))
    assert error.message == "another action was recorded at the same time; the handling is now at version 3: try again"
    assert error.extensions == {"code": "VERSION_CONFLICT", "currentVersion": 3}


@pytest.mark.parametrize("blank", ["", " \t"])
def test_find_changes_of_a_blank_assignee_is_refused_naming_it(blank: str) -> None:
    with pytest.raises(BadInput, match="^assignee: must name a person"):
        change_filter(None, None, None, blank)
    assert change_filter(None, None, None, "rep-114").assignee == "rep-114"
