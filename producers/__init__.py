"""The agency side: turn a padrón file or live updates into signed change sets.

Files go through ``produce_file`` (what ``sisi produce`` runs); live systems use
``AgencyClient`` / ``AsyncAgencyClient``. Both validate, sign with the agreement's key, keep every
change set in a durable outbox until the hub's receipt and show rejections in Spanish.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hub.lazy import lazy_exports

if TYPE_CHECKING:
    from producers.keys import signing_key
    from producers.outbox import Outbox, OutboxMessage, OutboxStatus
    from producers.pipeline import DEFAULT_CHUNK_SIZE, ProduceOptions, Progress, produce_file
    from producers.receipts import Receipt, ReceiptListener, RejectedItem
    from producers.sdk import (
        AgencyClient,
        AsyncAgencyClient,
        Change,
        InvalidChangeError,
        ReceiptTimeoutError,
    )
    from producers.summary import ProduceSummary

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "AgencyClient",
    "AsyncAgencyClient",
    "Change",
    "InvalidChangeError",
    "Outbox",
    "OutboxMessage",
    "OutboxStatus",
    "ProduceOptions",
    "ProduceSummary",
    "Progress",
    "Receipt",
    "ReceiptListener",
    "ReceiptTimeoutError",
    "RejectedItem",
    "produce_file",
    "signing_key",
]

_SOURCES: dict[str, str] = {
    "DEFAULT_CHUNK_SIZE": "producers.pipeline",
    "AgencyClient": "producers.sdk",
    "AsyncAgencyClient": "producers.sdk",
    "Change": "producers.sdk",
    "InvalidChangeError": "producers.sdk",
    "Outbox": "producers.outbox",
    "OutboxMessage": "producers.outbox",
    "OutboxStatus": "producers.outbox",
    "ProduceOptions": "producers.pipeline",
    "ProduceSummary": "producers.summary",
    "Progress": "producers.pipeline",
    "Receipt": "producers.receipts",
    "ReceiptListener": "producers.receipts",
    "ReceiptTimeoutError": "producers.sdk",
    "RejectedItem": "producers.receipts",
    "produce_file": "producers.pipeline",
    "signing_key": "producers.keys",
}


# Imported on first use: the reading processes (``producers.reading``) live in this package and
# must not load the SDK, the Kafka client and the contract tooling.
__getattr__, __dir__ = lazy_exports(__name__, _SOURCES)
