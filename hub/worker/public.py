"""Periodic public outputs of a worker: the audit chain head and the compliance scorecards."""

from __future__ import annotations

import datetime as dt

from hub.agreements.keys import key_id, public_key_to_str
from hub.audit.publish import CHAIN_HEAD_SUBJECT, head_to_record
from hub.compliance.scorecard import SCORECARD_SUBJECT, build_scorecards
from hub.contracts.wire import encode
from hub.topics import PUBLIC_AUDIT_HEAD, PUBLIC_SCORECARDS
from hub.worker.pipeline import HubPipeline

__all__ = ["CHAIN_HEAD_SUBJECT", "publish_public"]


def publish_public(pipeline: HubPipeline, now: dt.datetime | None = None) -> int:
    """Publish the chain head (when the log has entries) and one scorecard per agreement.

    Returns how many records were published. Several workers may do this at once: consumers
    keep the latest record per key (the head by sequence, a scorecard by agreement and period).
    """
    now = now or dt.datetime.now(dt.UTC)
    published = 0
    head = pipeline.audit.head()
    if head.sequence > 0:
        schema = pipeline.schemas.latest(CHAIN_HEAD_SUBJECT)
        signer = (
            None if head.head_signature else key_id(public_key_to_str(pipeline.audit.public_key))
        )
        record = head_to_record(head, signer, now)
        pipeline.publisher.publish(
            PUBLIC_AUDIT_HEAD, encode(schema.id, schema.parsed, record), key=b"audit-head"
        )
        published += 1
    schema = pipeline.schemas.latest(SCORECARD_SUBJECT)
    for card in build_scorecards(pipeline.engine, pipeline.gatekeeper.agreements, now=now):
        key = f"{card['agreement_id']}|{card['period']}".encode()
        pipeline.publisher.publish(
            PUBLIC_SCORECARDS, encode(schema.id, schema.parsed, card), key=key
        )
        published += 1
    pipeline.publisher.flush()
    return published
