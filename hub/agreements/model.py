"""The exchange agreement (convenio): a typed, frozen model of what an agency may send and how.

An ``Agreement`` names the parties, the programs (with CONEVAL populations, a CEL eligibility rule
and the benefit), the Avro contracts and versions allowed, the purpose-limited scope of fields
(sensitive data only when declared), delivery and quality commitments, the agency's Ed25519
public key (or, for key rotation, several keys with validity windows and revocations:
``AgreementKey``; see ``hub.agreements.keys`` for the rule the hub applies) and the agency's own
file layout. Validators that point at a specific place raise
``LocatedError`` so the loader can report the line of the offending key.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hub.agreements.dateformat import DateFormat
from hub.agreements.eligibility import EligibilityRuleError, compile_rule
from hub.agreements.keys import REVOKED_ALWAYS, SigningKey
from hub.agreements.layout import FileLayout
from hub.errors import SignatureError
from hub.fields import ALL_FIELDS, ITEM_FIELDS, SENSITIVE_FIELDS, SURVEY_FIELDS
from hub.topics import agreement_changes, agreement_receipts

__all__ = [
    "AGREEMENT_ID_PATTERN",
    "KEY_DATE_ZONE",
    "SUBJECT_PATTERN",
    "Agency",
    "Agreement",
    "AgreementKey",
    "Amount",
    "Benefit",
    "ContractTerms",
    "Delivery",
    "EligibilityRule",
    "HubParty",
    "Loc",
    "LocatedError",
    "Parties",
    "Populations",
    "ProgramTerms",
    "Quality",
    "Scope",
]

Loc = tuple[str | int, ...]

#: Avro full names of the contracts, e.g. ``mx.gob.sisi.padron.ChangeSet``.
SUBJECT_PATTERN = r"^mx\.gob\.sisi\.[a-z][a-z0-9_]*\.[A-Z][A-Za-z0-9]*$"


class LocatedError(ValueError):
    """One or more problems, each at a location relative to the model that raises it."""

    def __init__(self, issues: list[tuple[Loc, str]]) -> None:
        self.issues = tuple(issues)
        super().__init__(
            "; ".join(f"{'.'.join(map(str, loc)) or '(raíz)'}: {msg}" for loc, msg in issues)
        )


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Agency(_Frozen):
    """The agency that sends data: a federal dependency, a state or a municipality."""

    key: str = Field(min_length=2, max_length=32, pattern=r"^[A-Z0-9][A-Z0-9_-]*$")
    name: str = Field(min_length=3)
    level: Literal["federal", "estatal", "municipal"]
    state: str | None = Field(default=None, pattern=r"^(0[1-9]|[12][0-9]|3[0-2])$")
    municipality: str | None = Field(default=None, pattern=r"^[0-9]{3}$")
    contact: str | None = Field(default=None, description="responsable de protección de datos")

    @model_validator(mode="after")
    def _geography_matches_level(self) -> Agency:
        issues: list[tuple[Loc, str]] = []
        if self.level in ("estatal", "municipal") and self.state is None:
            issues.append((("level",), f"un orden {self.level} requiere 'state' (CVE_ENT)"))
        if self.level == "municipal" and self.municipality is None:
            issues.append((("level",), "un orden municipal requiere 'municipality' (CVE_MUN)"))
        if self.level != "municipal" and self.municipality is not None:
            issues.append((("municipality",), f"un orden {self.level} no lleva 'municipality'"))
        if self.level == "federal" and self.state is not None:
            issues.append((("state",), "un orden federal no lleva 'state'"))
        if issues:
            raise LocatedError(issues)
        return self


class HubParty(_Frozen):
    """The hub operator's side of the agreement."""

    key: str = Field(min_length=2, max_length=32)
    name: str = Field(min_length=3)


class Parties(_Frozen):
    agency: Agency
    hub: HubParty


class Populations(_Frozen):
    """CONEVAL's three populations, defined in Spanish as the program's rules state them."""

    potencial: str = Field(min_length=10)
    objetivo: str = Field(min_length=10)
    atendida: str = Field(min_length=10)


class EligibilityRule(_Frozen):
    """A CEL expression over ``hub.agreements.eligibility.VARIABLES``."""

    language: Literal["cel"] = "cel"
    expression: str = Field(min_length=1)
    description: str = Field(min_length=3)

    @field_validator("expression")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            compile_rule(value)
        except EligibilityRuleError as exc:
            raise ValueError(str(exc)) from exc
        return value


class Amount(_Frozen):
    min: Decimal = Field(ge=0)
    max: Decimal = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Amount:
        if self.min > self.max:
            message = f"el mínimo ({self.min}) excede el máximo ({self.max})"
            raise LocatedError([(("min",), message)])
        return self


class Benefit(_Frozen):
    types: tuple[str, ...] = Field(min_length=1)
    amount: Amount
    periodicity: Literal[
        "unica", "mensual", "bimestral", "trimestral", "cuatrimestral", "semestral", "anual"
    ]


class ProgramTerms(_Frozen):
    """One program under the agreement, as in the program catalog."""

    key: str = Field(pattern=r"^[A-Z0-9][A-Z0-9-]{1,31}$", description="clave presupuestaria: S176")
    coneval_key: str = Field(min_length=2, description="clave en el Inventario CONEVAL")
    name: str = Field(min_length=3)
    populations: Populations
    eligibility: EligibilityRule
    benefit: Benefit


class ContractTerms(_Frozen):
    """An Avro contract (subject) and the versions the agency may send."""

    subject: str = Field(pattern=SUBJECT_PATTERN)
    versions: tuple[int, ...] = Field(min_length=1)

    @field_validator("versions")
    @classmethod
    def _positive_unique(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(v < 1 for v in value):
            raise ValueError("las versiones empiezan en 1")
        if len(set(value)) != len(value):
            raise ValueError("hay versiones repetidas")
        return value


class Scope(_Frozen):
    """Purpose limitation: the fields the agency may send, and why."""

    fields: tuple[str, ...] = Field(min_length=1)
    sensitive: tuple[str, ...] = ()
    purpose: str = Field(min_length=10)

    @model_validator(mode="after")
    def _sensitive_declared(self) -> Scope:
        issues: list[tuple[Loc, str]] = []
        for i, name in enumerate(self.fields):
            if name in SENSITIVE_FIELDS and name not in self.sensitive:
                issues.append(
                    (
                        ("fields", i),
                        f"'{name}' es un dato sensible: declárelo también en scope.sensitive "
                        "con su justificación en scope.purpose, o quítelo",
                    )
                )
            if self.fields.count(name) > 1 and self.fields.index(name) != i:
                issues.append((("fields", i), f"'{name}' está repetido"))
        for i, name in enumerate(self.sensitive):
            if name not in SENSITIVE_FIELDS:
                issues.append(
                    (
                        ("sensitive", i),
                        f"'{name}' no es un dato sensible; los sensibles son: "
                        f"{', '.join(sorted(SENSITIVE_FIELDS))}",
                    )
                )
            elif name not in self.fields:
                issues.append((("sensitive", i), f"'{name}' debe estar también en scope.fields"))
        if issues:
            raise LocatedError(issues)
        return self


class Delivery(_Frozen):
    mode: Literal["streaming", "periodica"]
    period: Literal["mensual", "bimestral", "trimestral", "semestral"] | None = None
    max_lag_hours: int = Field(ge=1, description="horas máximas entre el hecho y su llegada al hub")

    @model_validator(mode="after")
    def _period_when_periodic(self) -> Delivery:
        if self.mode == "periodica" and self.period is None:
            raise LocatedError([(("mode",), "una entrega periódica requiere 'period'")])
        if self.mode == "streaming" and self.period is not None:
            raise LocatedError([(("period",), "una entrega en streaming no lleva 'period'")])
        return self


class Quality(_Frozen):
    """Compliance thresholds, as fractions between 0 and 1."""

    min_curp_validity: float = Field(ge=0, le=1)
    min_completeness: float = Field(ge=0, le=1)
    max_duplicate_rate: float = Field(ge=0, le=1)
    max_rejection_rate: float = Field(ge=0, le=1)


#: A key date written without a time (``2026-03-01``) is that whole day in central Mexico time
#: (UTC-06:00, without daylight saving since 2022): from 00:00 for ``valid_from``, to the end of
#: the day for ``valid_until``.
KEY_DATE_ZONE = timezone(timedelta(hours=-6), "UTC-06:00")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_KEY_TIME_HINT = (
    "escriba AAAA-MM-DD (el día completo, hora del centro UTC-06:00) o fecha y hora con zona, "
    "p. ej. 2026-03-01T10:00:00-06:00"
)


def _key_moment(value: Any, end_of_day: bool) -> datetime:
    """A key date as an aware datetime; dates are whole days in ``KEY_DATE_ZONE``."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        return datetime.combine(value, time.max if end_of_day else time.min, KEY_DATE_ZONE)
    elif isinstance(value, str) and _DATE_ONLY.match(value.strip()):
        try:
            day = date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"fecha inválida: {value!r}; {_KEY_TIME_HINT}") from None
        return datetime.combine(day, time.max if end_of_day else time.min, KEY_DATE_ZONE)
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"fecha inválida: {value!r}; {_KEY_TIME_HINT}") from None
    else:
        raise ValueError(f"se esperaba una fecha, no {value!r}; {_KEY_TIME_HINT}")
    if moment.utcoffset() is None:
        raise ValueError(f"a {value!r} le falta la zona horaria; {_KEY_TIME_HINT}")
    return moment


def _checked_public_key(value: str) -> str:
    """``value`` if it is a well-formed Ed25519 public key (``ed25519:...``); the reason if not."""
    from hub.agreements.keys import public_key_from_str

    try:
        public_key_from_str(value)
    except SignatureError as exc:
        raise ValueError(exc.message) from exc
    return value


class AgreementKey(_Frozen):
    """One of the agency's public keys in ``public_keys:`` (key rotation).

    The hub accepts a message signed with this key while the hub's own clock is within
    ``valid_from``..``valid_until`` and the key is not revoked (``revoked_at``, or ``revoked:
    true`` without a date: never again). The message's ``sent_at`` is not used: the agency
    writes it.
    """

    key: str
    valid_from: datetime
    valid_until: datetime | None = None
    revoked: bool | None = None
    revoked_at: datetime | None = None
    note: str | None = None

    @field_validator("key")
    @classmethod
    def _valid_key(cls, value: str) -> str:
        return _checked_public_key(value)

    @field_validator("valid_from", "revoked_at", mode="before")
    @classmethod
    def _start_of_day(cls, value: Any) -> Any:
        return None if value is None else _key_moment(value, end_of_day=False)

    @field_validator("valid_until", mode="before")
    @classmethod
    def _end_of_day(cls, value: Any) -> Any:
        return None if value is None else _key_moment(value, end_of_day=True)

    @model_validator(mode="after")
    def _consistent(self) -> AgreementKey:
        issues: list[tuple[Loc, str]] = []
        if self.valid_until is not None and self.valid_until <= self.valid_from:
            issues.append((("valid_until",), "la vigencia de la clave termina antes de empezar"))
        if self.revoked is False and self.revoked_at is not None:
            issues.append(
                (
                    ("revoked",),
                    "dice 'revoked: false' pero trae revoked_at; quite revoked_at o ponga "
                    "'revoked: true'",
                )
            )
        if issues:
            raise LocatedError(issues)
        return self

    @property
    def is_revoked(self) -> bool:
        """Whether the key is revoked (now or from ``revoked_at`` on)."""
        return bool(self.revoked) or self.revoked_at is not None

    def signing_key(self) -> SigningKey:
        """The hub's normalized form."""
        revoked_at = self.revoked_at
        if revoked_at is None and self.revoked:
            revoked_at = REVOKED_ALWAYS
        return SigningKey(self.key, self.valid_from, self.valid_until, revoked_at)


AGREEMENT_ID_PATTERN = r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$"

#: Subject namespace each kind of agreement sends.
_NAMESPACE = {"padron": "mx.gob.sisi.padron.", "encuesta": "mx.gob.sisi.encuesta."}
#: Survey files are one row per member: these identify the household and the member.
_SURVEY_KEYS = ("folio_hogar", "num_integrante")


def _date_format_issues(loc: Loc, fmt: str) -> list[tuple[Loc, str]]:
    """A layout date format that does not compile, as a located issue."""
    try:
        DateFormat(fmt)
    except ValueError as exc:
        return [(loc, f"formato de fecha inválido '{fmt}': {exc}")]
    return []


class Agreement(_Frozen):
    """An exchange agreement between an agency and the hub.

    Its keys come in one of two forms: ``public_key:`` (one key, valid for the whole agreement)
    or ``public_keys:`` (a list of ``AgreementKey`` with windows, for rotation). Read them with
    :attr:`signing_keys`; :attr:`public_key` is the key the agency should sign with now.
    """

    model_config = ConfigDict(
        frozen=True, extra="forbid", str_strip_whitespace=True, serialize_by_alias=True
    )

    id: str = Field(pattern=AGREEMENT_ID_PATTERN, max_length=64)
    title: str = Field(min_length=5)
    kind: Literal["padron", "encuesta"]
    environment: Literal["produccion", "demo"] = "produccion"
    parties: Parties
    signed_on: date
    valid_from: date
    valid_until: date
    status: Literal["borrador", "vigente", "suspendido", "terminado"]
    programs: tuple[ProgramTerms, ...] = ()
    contracts: tuple[ContractTerms, ...] = Field(min_length=1)
    scope: Scope
    delivery: Delivery
    quality: Quality
    #: The single-key form (``public_key:`` in the file).
    single_key: str | None = Field(default=None, alias="public_key")
    public_keys: tuple[AgreementKey, ...] = ()
    layout: FileLayout
    notes: str | None = None

    @field_validator("single_key")
    @classmethod
    def _valid_key(cls, value: str) -> str:
        return _checked_public_key(value)

    @model_validator(mode="after")
    def _consistent(self) -> Agreement:
        issues: list[tuple[Loc, str]] = []
        if self.valid_from > self.valid_until:
            issues.append((("valid_until",), "la vigencia termina antes de empezar (valid_from)"))
        if self.signed_on > self.valid_until:
            issues.append((("signed_on",), "la firma es posterior al fin de la vigencia"))
        issues += self._check_programs() + self._check_contracts() + self._check_scope()
        issues += self._check_layout() + self._check_keys() + self._check_demo_key()
        if issues:
            raise LocatedError(issues)
        return self

    def _check_demo_key(self) -> list[tuple[Loc, str]]:
        """A production agreement must not carry its demo key: anyone can compute that key's
        private half (``hub.agreements.keys.demo_private_key``) and sign as the agency. Every
        listed key counts, revoked ones too (a revoked demo key is still a mistake to fix)."""
        from hub.agreements.keys import demo_private_key, public_key_of

        if self.environment == "demo":
            return []
        demo = public_key_of(demo_private_key(self.id))
        located: list[tuple[Loc, str]] = [(("public_key",), self.single_key or "")]
        located += [(("public_keys", i, "key"), k.key) for i, k in enumerate(self.public_keys)]
        return [
            (
                loc,
                "es la clave de demostración de este convenio, cuya clave privada cualquiera "
                "puede calcular; un convenio de producción necesita la clave pública que generó "
                "la dependencia ('sisi agreements keygen'), o declare environment: demo",
            )
            for loc, key in located
            if key.strip() == demo
        ]

    def _check_keys(self) -> list[tuple[Loc, str]]:
        """One key form; in ``public_keys``: no repeats, no gaps, at most two keys at once."""
        if self.single_key is not None and self.public_keys:
            return [
                (
                    ("public_keys",),
                    "declare public_key (una clave para toda la vigencia) o public_keys "
                    "(varias claves con vigencia, para rotarlas), no ambas; pase la clave de "
                    "public_key a public_keys con su valid_from",
                )
            ]
        if self.single_key is None and not self.public_keys:
            return [
                (
                    ("public_key",),
                    "falta la clave pública de la dependencia: agregue 'public_key: ed25519:...' "
                    "(la línea que imprime 'sisi agreements keygen') o una lista public_keys",
                )
            ]
        issues: list[tuple[Loc, str]] = []
        seen: dict[str, int] = {}
        for i, entry in enumerate(self.public_keys):
            if entry.key in seen:
                issues.append(
                    (
                        ("public_keys", i, "key"),
                        f"la clave ya aparece en public_keys[{seen[entry.key]}]; una clave va una "
                        "sola vez (ajuste su valid_until o revóquela en esa entrada)",
                    )
                )
            seen.setdefault(entry.key, i)
        live = sorted(
            (entry.valid_from, i, entry)
            for i, entry in enumerate(self.public_keys)
            if not entry.is_revoked
        )
        for n, (start, i, _entry) in enumerate(live[1:], start=1):
            previous_start, j, previous = live[n - 1]
            where: Loc = ("public_keys", i, "valid_from")
            if start == previous_start:
                issues.append(
                    (where, f"empieza al mismo tiempo que public_keys[{j}]; escalone las claves")
                )
                continue
            if previous.valid_until is None:
                issues.append(
                    (
                        ("public_keys", j, "valid_until"),
                        f"la clave sigue vigente sin fin aunque public_keys[{i}] la reemplaza: "
                        "ponga valid_until al final del traslape (p. ej. unos días después de "
                        f"{start.date().isoformat()}) para que deje de aceptarse",
                    )
                )
            elif previous.valid_until < start - timedelta(microseconds=1):
                issues.append(
                    (
                        where,
                        f"hay un hueco sin clave vigente entre el fin de public_keys[{j}] "
                        f"({previous.valid_until.isoformat()}) y {start.isoformat()}: lo que "
                        "la dependencia envíe entonces se rechazaría; haga que las vigencias "
                        "se traslapen",
                    )
                )
            if n >= 2:
                _, k, older = live[n - 2]
                if older.valid_until is None or older.valid_until >= start:
                    issues.append(
                        (
                            where,
                            f"tres claves vigentes a la vez (con public_keys[{k}] y "
                            f"public_keys[{j}]); el traslape es para pasar de una clave a la "
                            "siguiente: termine antes la más antigua o revóquela",
                        )
                    )
        return issues

    def _check_programs(self) -> list[tuple[Loc, str]]:
        issues: list[tuple[Loc, str]] = []
        if self.kind == "padron" and not self.programs:
            issues.append((("kind",), "un convenio de padrón debe declarar al menos un programa"))
        seen: set[str] = set()
        for i, program in enumerate(self.programs):
            if program.key in seen:
                issues.append((("programs", i, "key"), f"programa '{program.key}' repetido"))
            seen.add(program.key)
        return issues

    def _check_contracts(self) -> list[tuple[Loc, str]]:
        issues: list[tuple[Loc, str]] = []
        namespace = _NAMESPACE[self.kind]
        seen: set[str] = set()
        for i, contract in enumerate(self.contracts):
            if not contract.subject.startswith(namespace):
                issues.append(
                    (
                        ("contracts", i, "subject"),
                        f"un convenio de tipo {self.kind} solo envía contratos {namespace}*",
                    )
                )
            if contract.subject in seen:
                issues.append((("contracts", i, "subject"), "contrato repetido"))
            seen.add(contract.subject)
        return issues

    def _check_scope(self) -> list[tuple[Loc, str]]:
        vocabulary = ALL_FIELDS if self.kind == "padron" else SURVEY_FIELDS
        label = "hub/fields.py" if self.kind == "padron" else "SURVEY_FIELDS de hub/fields.py"
        return [
            (("scope", "fields", i), f"'{name}' no es un campo canónico de {label}")
            for i, name in enumerate(self.scope.fields)
            if name not in vocabulary
        ]

    def _check_layout(self) -> list[tuple[Loc, str]]:
        issues: list[tuple[Loc, str]] = []
        mapped = self.layout.fields
        if self.kind == "padron":
            if "reference_id" not in mapped:
                issues.append((("layout", "fields"), "falta 'reference_id' (folio del registro)"))
            allowed = set(self.scope.fields) | set(ITEM_FIELDS)
            vocabulary = ALL_FIELDS
        else:
            allowed = set(self.scope.fields)
            vocabulary = SURVEY_FIELDS
            issues += [
                (("layout", "fields"), f"falta '{key}' (encuesta: una fila por integrante)")
                for key in _SURVEY_KEYS
                if key not in mapped
            ]
        issues += _date_format_issues(("layout", "date_format"), self.layout.date_format)
        for name, source in mapped.items():
            where: Loc = ("layout", "fields", name)
            if source.format is not None:
                issues += _date_format_issues((*where, "format"), source.format)
            if name not in vocabulary:
                issues.append((where, f"'{name}' no es un campo de un convenio de {self.kind}"))
            elif name not in allowed:
                issues.append(
                    (
                        where,
                        f"'{name}' está fuera del alcance del convenio; agréguelo a "
                        "scope.fields (y a scope.sensitive si es sensible) o quítelo del layout",
                    )
                )
            constant = source.constant
            if name == "clave_programa" and constant not in (None, *self.program_keys):
                issues.append((where, f"'{constant}' no es un programa del convenio"))
        return issues

    # --- queries -------------------------------------------------------------------------------

    @property
    def signing_keys(self) -> tuple[SigningKey, ...]:
        """Every key the agreement lists, normalized (the single form: one key, no window)."""
        if self.single_key is not None:
            return (SigningKey(self.single_key),)
        return tuple(entry.signing_key() for entry in self.public_keys)

    def keys_valid_at(self, at: datetime | None = None) -> tuple[SigningKey, ...]:
        """The keys that verify a message the hub inspects at ``at`` (default: now)."""
        moment = at if at is not None else datetime.now(UTC)
        return tuple(key for key in self.signing_keys if key.valid_at(moment))

    def accepts_key(self, public_key: str, at: datetime | None = None) -> bool:
        """Whether a message signed with ``public_key`` (``ed25519:...``) verifies at ``at``."""
        return any(key.public_key == public_key.strip() for key in self.keys_valid_at(at))

    @property
    def public_key(self) -> str:
        """The key the agency should sign with now: of the keys valid now, the newest; with none
        valid now, the newest key not revoked (or the last listed)."""
        if self.single_key is not None:
            return self.single_key
        now = datetime.now(UTC)
        valid = self.keys_valid_at(now)
        if valid:
            return max(valid, key=lambda k: k.valid_from or REVOKED_ALWAYS).public_key
        live = [e for e in self.public_keys if not e.is_revoked]
        if live:
            return max(live, key=lambda e: e.valid_from).key
        return self.public_keys[-1].key

    def in_force(self, on: date) -> bool:
        """Whether the agreement is ``vigente`` and ``on`` is within its validity (inclusive)."""
        return self.status == "vigente" and self.valid_from <= on <= self.valid_until

    @property
    def program_keys(self) -> tuple[str, ...]:
        """Catalog keys of the agreement's programs."""
        return tuple(p.key for p in self.programs)

    def program(self, key: str) -> ProgramTerms | None:
        """The program with catalog key ``key``, if it is in this agreement."""
        return next((p for p in self.programs if p.key == key), None)

    def allows_field(self, name: str) -> bool:
        """Whether the agency may send ``name``: the item's own fields always, others by scope."""
        if self.kind == "padron" and name in ITEM_FIELDS:
            return True
        return name in self.scope.fields

    def allows_version(self, subject: str, version: int) -> bool:
        """Whether ``subject`` (Avro full name) at ``version`` is allowed by this agreement."""
        return any(c.subject == subject and version in c.versions for c in self.contracts)

    @property
    def changes_topic(self) -> str:
        """The topic the agency publishes to."""
        return agreement_changes(self.id)

    @property
    def receipts_topic(self) -> str:
        """The topic the hub publishes this agreement's receipts to."""
        return agreement_receipts(self.id)
