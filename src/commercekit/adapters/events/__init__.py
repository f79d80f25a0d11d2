"""Event adapters: a publisher that hands outbox messages to RabbitMQ
(:mod:`commercekit.adapters.events.rabbitmq`, which needs the ``rabbitmq`` extra),
and what a consumer deduplicates them with (:class:`Deduplicator`)."""

from __future__ import annotations

from commercekit.adapters.events.dedup import Deduplicator

__all__ = ["Deduplicator"]
