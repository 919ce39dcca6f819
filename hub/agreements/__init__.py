"""Exchange agreements (convenios): typed model, loader, Ed25519 keys, eligibility rules."""

from __future__ import annotations

from hub.agreements.eligibility import (
    VARIABLES,
    CompiledRule,
    EligibilityRuleError,
    compile_rule,
    evaluate,
)
from hub.agreements.keys import (
    demo_private_key,
    generate_keypair,
    key_id,
    load_private_key,
    public_key_from_str,
    public_key_to_str,
    sign,
    verify,
)
from hub.agreements.layout import FieldSource, FileLayout
from hub.agreements.loader import (
    AgreementFileError,
    AgreementIssue,
    AgreementSet,
    load_agreement,
    load_agreements,
)
from hub.agreements.model import (
    Agency,
    Agreement,
    Amount,
    Benefit,
    ContractTerms,
    Delivery,
    EligibilityRule,
    HubParty,
    Parties,
    Populations,
    ProgramTerms,
    Quality,
    Scope,
)

__all__ = [
    "VARIABLES",
    "Agency",
    "Agreement",
    "AgreementFileError",
    "AgreementIssue",
    "AgreementSet",
    "Amount",
    "Benefit",
    "CompiledRule",
    "ContractTerms",
    "Delivery",
    "EligibilityRule",
    "EligibilityRuleError",
    "FieldSource",
    "FileLayout",
    "HubParty",
    "Parties",
    "Populations",
    "ProgramTerms",
    "Quality",
    "Scope",
    "compile_rule",
    "demo_private_key",
    "evaluate",
    "generate_keypair",
    "key_id",
    "load_agreement",
    "load_agreements",
    "load_private_key",
    "public_key_from_str",
    "public_key_to_str",
    "sign",
    "verify",
]
