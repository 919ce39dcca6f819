"""Exchange agreements (convenios): typed model, loader, Ed25519 keys, eligibility rules."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hub.lazy import lazy_exports

if TYPE_CHECKING:
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

_SOURCES: dict[str, str] = {
    "VARIABLES": "hub.agreements.eligibility",
    "Agency": "hub.agreements.model",
    "Agreement": "hub.agreements.model",
    "AgreementFileError": "hub.agreements.loader",
    "AgreementIssue": "hub.agreements.loader",
    "AgreementSet": "hub.agreements.loader",
    "Amount": "hub.agreements.model",
    "Benefit": "hub.agreements.model",
    "CompiledRule": "hub.agreements.eligibility",
    "ContractTerms": "hub.agreements.model",
    "Delivery": "hub.agreements.model",
    "EligibilityRule": "hub.agreements.model",
    "EligibilityRuleError": "hub.agreements.eligibility",
    "FieldSource": "hub.agreements.layout",
    "FileLayout": "hub.agreements.layout",
    "HubParty": "hub.agreements.model",
    "Parties": "hub.agreements.model",
    "Populations": "hub.agreements.model",
    "ProgramTerms": "hub.agreements.model",
    "Quality": "hub.agreements.model",
    "Scope": "hub.agreements.model",
    "compile_rule": "hub.agreements.eligibility",
    "demo_private_key": "hub.agreements.keys",
    "evaluate": "hub.agreements.eligibility",
    "generate_keypair": "hub.agreements.keys",
    "key_id": "hub.agreements.keys",
    "load_agreement": "hub.agreements.loader",
    "load_agreements": "hub.agreements.loader",
    "load_private_key": "hub.agreements.keys",
    "public_key_from_str": "hub.agreements.keys",
    "public_key_to_str": "hub.agreements.keys",
    "sign": "hub.agreements.keys",
    "verify": "hub.agreements.keys",
}


# Imported on first use, so that a process needing only the layout and date formats (the
# producer's reading processes) does not load the CEL engine, YAML loader and key handling.
__getattr__, __dir__ = lazy_exports(__name__, _SOURCES)
