"""The exception root of the project.

Every error the hub, the producers or the consumers raise on purpose derives from ``SisiError``;
third-party errors are wrapped at the boundary with ``raise ... from exc``. Messages are in Spanish
(agencies and operators read them) and say what to do.

::

    SisiError
    ├── ConfigurationError        settings or reference data missing or unusable
    │   └── ReferenceDataError
    ├── ContractError             Avro schema unreadable, unknown subject, incompatible version
    │   └── IncompatibleSchemaError
    ├── AgreementError            agreement file malformed, unknown, expired, out of scope
    ├── InputFileError            an agency file cannot be read (encoding, layout, row)
    ├── SignatureError            a change set's Ed25519 signature does not verify
    └── BrokerError               the embedded broker did not start, answer or stop
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "AgreementError",
    "BrokerError",
    "ConfigurationError",
    "ContractError",
    "IncompatibleSchemaError",
    "InputFileError",
    "ReferenceDataError",
    "SignatureError",
    "SisiError",
    "with_hint",
]

#: a message ending in one of these needs no period before "Qué hacer:"
_FINAL_PUNCTUATION = (".", "!", "?", "…", ":", ";")


def with_hint(message: str, hint: str | None) -> str:
    """``message. Qué hacer: hint`` — the one shape of every error the CLI prints."""
    if not hint:
        return message
    end = "" if message.rstrip().endswith(_FINAL_PUNCTUATION) else "."
    return f"{message.rstrip()}{end} Qué hacer: {hint}"


class SisiError(Exception):
    """Root of every deliberate error. ``exit_code`` is what the CLI exits with."""

    exit_code: int = 2

    def __init__(
        self,
        message: str,
        *,
        path: Path | str | None = None,
        line: int | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        self.field = field
        self.hint = hint
        super().__init__(self.render())

    def render(self) -> str:
        """``archivo:línea: campo 'x': mensaje. Qué hacer: ...`` with the parts that are known."""
        where = ""
        if self.path is not None:
            where = self.path + (f":{self.line}" if self.line is not None else "") + ": "
        elif self.line is not None:
            where = f"línea {self.line}: "
        field = f"campo '{self.field}': " if self.field else ""
        return f"{where}{field}{with_hint(self.message, self.hint)}"


class ConfigurationError(SisiError):
    """Settings or reference data are missing or unusable."""


class ReferenceDataError(ConfigurationError):
    """INEGI/CONEVAL reference files are missing or malformed."""


class ContractError(SisiError):
    """An Avro contract is unreadable, unknown, or not allowed."""


class IncompatibleSchemaError(ContractError):
    """A new schema version breaks its subject's compatibility mode."""


class AgreementError(SisiError):
    """An agreement (convenio) file is malformed, unknown, not in force, or out of scope."""


class InputFileError(SisiError):
    """An agency input file cannot be read."""


class SignatureError(SisiError):
    """A change set's signature does not verify against the agreement's key."""


class BrokerError(SisiError):
    """The Kafka-protocol broker could not be started, reached or stopped."""
