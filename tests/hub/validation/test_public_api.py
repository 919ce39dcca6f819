"""The public API of hub.validation and its reason codes."""

from __future__ import annotations

import re

import hub.validation
from hub.validation import REASON_CODES, WARNING_CODES, ValidationIssue, make_issue


def test_exported_members() -> None:
    for name in hub.validation.__all__:
        assert hasattr(hub.validation, name), name
    public = {n for n in dir(hub.validation) if not n.startswith("_")}
    modules = {
        "amounts", "curp", "curp_rules", "curp_stem", "dates", "geography", "geography_files",
        "issues", "names", "record",
    }  # fmt: skip
    assert public - (modules - set(hub.validation.__all__)) - {"annotations"} == set(
        hub.validation.__all__
    )


def test_reason_codes_are_stable_and_spanish() -> None:
    required = {
        "REQUIRED", "CURP_STRUCTURE", "CURP_CHECK_DIGIT", "CURP_DATE", "CURP_FUTURE_DATE",
        "CURP_SEX", "CURP_STATE", "CURP_INCONVENIENT_WORD", "CURP_NAME_MISMATCH",
        "CURP_DATE_MISMATCH", "CURP_SEX_MISMATCH", "CURP_STATE_MISMATCH", "GEO_FORMAT",
        "GEO_UNKNOWN_STATE", "GEO_UNKNOWN_MUNICIPALITY", "GEO_LOCALITY_NOT_IN_CATALOG",
        "DATE_FORMAT", "DATE_FUTURE", "DATE_TOO_OLD", "AMOUNT_FORMAT", "AMOUNT_NEGATIVE",
        "NAME_INVALID", "SEX_INVALID",
    }  # fmt: skip
    assert required <= set(REASON_CODES)
    assert WARNING_CODES.issubset(REASON_CODES)
    for code, text in REASON_CODES.items():
        assert re.fullmatch(r"[A-Z][A-Z_]+", code)
        assert text and text[0].islower(), code


def test_issue_record() -> None:
    issue = make_issue("cve_loc", "GEO_LOCALITY_NOT_IN_CATALOG", "'090029999'")
    assert issue == ValidationIssue(
        "cve_loc",
        "GEO_LOCALITY_NOT_IN_CATALOG",
        REASON_CODES["GEO_LOCALITY_NOT_IN_CATALOG"] + ": '090029999'",
        "warning",
    )
    assert not issue.is_error
    assert make_issue("curp", "REQUIRED").is_error
