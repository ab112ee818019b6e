"""The version conflict's words: they name `expectedVersion` only to a caller who sent one."""

from __future__ import annotations

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
