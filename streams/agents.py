"""The Faust agent: thin. Take a batch of raw messages, decode, apply in one transaction.

One agent (concurrency 1) reads the five input topics, so the messages of a partition are applied in order.

Batches overlap: while batch n is applied (by the ingest writer process, ``streams.writer``), Faust gathers
batch n+1 and this agent decodes it and queues it (one batch waits at most: a third waits in Faust's buffer);
batches are applied one at a time, in the order read. A message is acked, so that Faust may commit its
offset, only once its own batch is applied: each message is held (``Message.incref``) across Faust's ack at
the end of the ``take_events`` step and released when the SQL transaction is done. A worker that dies with
batch n in flight has committed at most the offsets of batch n-1; the rest is replayed, and a replay of what
was applied is a no-op.
"""
from __future__ import annotations

import asyncio
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

    async def apply_then_ack(events, items) -> None:
        await applier.apply(items)
        for event in events:
            message = event.message
            if event.ack():  # the last hold: the offset may be committed now
                app.sensors.on_message_out(message.tp, message.offset, message)
            if positions is not None:
                positions.applied(message.topic, message.partition, message.offset, message.timestamp)

    async def apply_in_order(ready: asyncio.Queue) -> None:
        while True:
            events, items = await ready.get()
            await apply_then_ack(events, items)

    async def ingest(stream):
        ready: asyncio.Queue = asyncio.Queue(maxsize=1)  # one batch waits while one is applied
        applying = asyncio.ensure_future(apply_in_order(ready))
        try:
            async for events in stream.take_events(batch_size, within=batch_wait):
                for event in events:
                    event.message.incref()  # held past take_events' own ack, until its batch is applied
                items = [
                    decode_message(event.message.topic, event.message.partition, event.message.offset,
                                   event.message.key, event.message.value, event.message.headers,
                                   max_bytes=max_bytes, types_of_topic=types_of_topic)
                    for event in events
                ]
                put = asyncio.ensure_future(ready.put((events, items)))
                await asyncio.wait({put, applying}, return_when=asyncio.FIRST_COMPLETED)
                if applying.done():  # only by a bug (the applier holds and isolates every failure): surface it
                    put.cancel()
                    applying.result()
                    raise RuntimeError("the ingest applier stopped")
        finally:
            applying.cancel()  # stopping: messages not applied stay unacked and are read again by the next start

    return app.agent(source, name="catalog-tracker.ingest", concurrency=1)(ingest)
