"""The hub worker: the per-message pipeline and the faust app that feeds it from agency topics."""

from __future__ import annotations

from hub.worker.assembly import build_pipeline, prepare_database
from hub.worker.audit_events import HUB_ACTOR, audit_events
from hub.worker.pipeline import BATCH_MESSAGES, HubPipeline, KafkaMessage, Outcome
from hub.worker.publisher import KafkaPublisher, Published, Publisher, RecordingPublisher

__all__ = [
    "BATCH_MESSAGES",
    "HUB_ACTOR",
    "HubPipeline",
    "KafkaMessage",
    "KafkaPublisher",
    "Outcome",
    "Published",
    "Publisher",
    "RecordingPublisher",
    "audit_events",
    "build_pipeline",
    "prepare_database",
]
