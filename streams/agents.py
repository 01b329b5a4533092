"""The Faust agent: thin. Take a batch of raw messages, decode, apply in one transaction.

One agent (concurrency 1) reads the four input topics, so the messages of a
partition are applied in order. Offsets are committed by Faust after the
batch's events are acked, i.e. after ``BatchApplier.apply`` returned: the SQL
transaction is done by then.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import faust

from streams.ingest import BatchApplier, decode_message


def register_ingest_agent(app: faust.App, topics: Sequence[str], applier: BatchApplier, *, max_bytes: int,
                          types_of_topic: Mapping[str, Sequence[str]] | None = None,
                          batch_size: int = 2000, batch_wait: float = 0.05, positions=None):
    """Add the ingest agent for ``topics`` (full names) to ``app``; returns the agent.

    ``types_of_topic`` (full name -> event types): what each topic may carry; anything else is dead-lettered.
    ``positions`` (``streams.instruments.ConsumerPositions``): told what was applied on each partition (the lag).
    """
    source = app.topic(*topics)

    async def ingest(stream):
        async for events in stream.take_events(batch_size, within=batch_wait):
            items = [
                decode_message(event.message.topic, event.message.partition, event.message.offset,
                               event.message.key, event.message.value, event.message.headers, max_bytes=max_bytes,
                               types_of_topic=types_of_topic)
                for event in events
            ]
            await applier.apply(items)
            if positions is not None:
                for event in events:
                    message = event.message
                    positions.applied(message.topic, message.partition, message.offset, message.timestamp)

    return app.agent(source, name="catalog-tracker.ingest", concurrency=1)(ingest)
