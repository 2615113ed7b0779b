"""The consumer loop: consume a batch, dead-letter the bad, write the good, then commit.

At-least-once delivery plus idempotent writes: offsets are committed only after the batch is
in MongoDB and every dead letter and status notice is acknowledged by Kafka. A MongoDB outage
is retried with backoff for as long as it lasts (never dropped, nothing committed meanwhile).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from pymongo.errors import PyMongoError
from tenacity import (
    Retrying,
    before_sleep_log,
    retry_if_exception_type,
    wait_exponential,
)

from checkins.clients import kafka_config
from checkins.envelope import InvalidMessage, decode
from checkins.settings import Settings
from checkins.wire import coordinates
from consumers import store
from consumers.deadletter import dlq_headers
from readmodels.events import homecheckin_document
from readmodels.orders import status_notice

log = logging.getLogger(__name__)
BATCH_LINGER_S = 0.1  # how long a batch gathers more after its first message (_next_batch)

# Where a fresh group starts: the lag monitor says so for partitions it never committed.
AUTO_OFFSET_RESET = "earliest"


class Stopped(Exception):
    """A stop was requested while a batch was still waiting on MongoDB or Kafka."""


@dataclass
class Stats:
    batches: int = 0
    stored: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    notices: int = 0
    retries: int = 0  # waits on an unavailable MongoDB or Kafka


class CheckInConsumer:
    """One member of the consumer group. `run()` returns when `stop` is set (after the batch
    in hand is written and committed)."""

    def __init__(
        self,
        settings: Settings,
        stop: threading.Event | None = None,
        *,
        batch_size: int = 2000,
        poll_timeout: float = 0.5,
        ready_file: Path | None = None,
        on_batch: Callable[[Stats], None] | None = None,
    ):
        self.settings = settings
        self.stop = stop or threading.Event()
        self.batch_size = batch_size
        self.poll_timeout = poll_timeout
        self.ready_file = ready_file
        self.on_batch = on_batch
        self.stats = Stats()
        self._pending: dict[tuple[str, int], int] = {}  # written, not yet committed
        self._log_retry = before_sleep_log(log, logging.WARNING)

    # -- set-up ---------------------------------------------------------------------------
    def _consumer(self) -> Consumer:
        config = kafka_config(
            self.settings,
            **{
                "group.id": self.settings.consumer_group,
                "client.id": f"checkin-consumer-{os.getpid()}",
                "enable.auto.commit": False,
                "auto.offset.reset": AUTO_OFFSET_RESET,
                # A long MongoDB outage keeps one batch in hand; leave the group late.
                "max.poll.interval.ms": 600_000,
                # librdkafka prefetches up to 64 MB per consumer by default, and a consumer
                # behind a backlog fills it (the soak saw each worker's memory climb); 16 MB is
                # still 16 batches ahead of the writes.
                "queued.max.messages.kbytes": 16_384,
            },
        )
        return Consumer(config)

    def _producer(self) -> Producer:
        return Producer(
            kafka_config(
                self.settings,
                **{
                    "enable.idempotence": True,
                    "acks": "all",
                    "linger.ms": 5,
                    "client.id": f"checkin-consumer-{os.getpid()}-out",
                },
            )
        )

    def _retrying(self) -> Retrying:
        return Retrying(
            retry=retry_if_exception_type((PyMongoError, KafkaException, _Undelivered)),
            wait=wait_exponential(multiplier=0.2, max=10),
            stop=lambda _state: self.stop.is_set(),
            sleep=self._interruptible_sleep,
            before_sleep=self._before_sleep,
            reraise=True,
        )

    def _before_sleep(self, state) -> None:
        self.stats.retries += 1
        self._log_retry(state)

    def _interruptible_sleep(self, seconds: float) -> None:
        if self.stop.wait(seconds):
            raise Stopped()

    # -- the loop -------------------------------------------------------------------------
    def run(self) -> Stats:
        client = store.connect(self.settings)
        db = client[self.settings.mongodb_database]
        consumer = self._consumer()
        self._out = self._producer()
        try:
            self._retrying()(store.ensure_indexes, db)
            consumer.subscribe(
                [self.settings.checkin_topic], on_assign=self._assigned, on_revoke=self._revoked
            )
            while not self.stop.is_set():
                messages = self._next_batch(consumer)
                if messages:
                    self._handle(consumer, db, messages)
        except (Stopped, PyMongoError, KafkaException, _Undelivered) as exc:
            if not self.stop.is_set():
                raise
            log.info("stopped with a batch in hand (%s): not committed, it will be redone", exc)
        finally:
            self._commit(consumer)
            consumer.close()
            self._out.flush(10)
            client.close()
            if self.ready_file is not None:
                self.ready_file.unlink(missing_ok=True)
        log.info("consumer closed: %s", self.stats)
        return self.stats

    def _next_batch(self, consumer: Consumer) -> list[Message]:
        """Up to batch_size messages: the first within poll_timeout, then what comes within
        BATCH_LINGER_S. `consume(n, t)` waits out `t` unless `n` arrive, so one call with
        poll_timeout made every batch wait 0.5 s at a steady 500/s; a short linger still lets
        a batch gather more than one event (each batch has fixed costs in the store)."""
        messages = consumer.consume(1, self.poll_timeout)
        if messages and self.batch_size > 1:
            messages += consumer.consume(self.batch_size - 1, BATCH_LINGER_S)
        return messages

    def _handle(self, consumer: Consumer, db, messages: list[Message]) -> None:
        stored_at = datetime.now(UTC)
        docs, letters = [], []
        for msg in messages:
            error = msg.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    log.warning("consume error: %s", error)
                continue
            where = coordinates(msg)
            try:
                event = decode(
                    msg.value(),
                    topic=where.topic,
                    partition=where.partition,
                    offset=where.offset,
                    timezone=self.settings.checkin_timezone,
                    message_time=where.timestamp,
                    max_future=self.settings.checkin_max_future,
                )
            except InvalidMessage as exc:
                letters.append((msg, exc.reason))
                continue
            except Exception as exc:  # noqa: BLE001 - a message must never stop the group
                log.exception(
                    "unexpected error decoding %s/%d@%d", where.topic, where.partition, where.offset
                )
                letters.append((msg, f"unexpected {type(exc).__name__}: {exc}"))
                continue
            docs.append(homecheckin_document(event, where, stored_at))

        for msg, reason in letters:
            log.info("dead letter %s/%d@%d: %s", msg.topic(), msg.partition(), msg.offset(), reason)
        self._retrying()(self._send_dead_letters, letters, stored_at)
        result = self._retrying()(store.write_batch, db, docs, store.Attempts())
        notices = [
            (c.orderNo.encode(), json.dumps(status_notice(c, stored_at)).encode())
            for c in result.status_changes
        ]
        self._retrying()(self._send, self.settings.status_topic, notices, None)

        for msg in messages:
            if msg.error() is None:
                where = coordinates(msg)
                key = (where.topic, where.partition)
                self._pending[key] = max(self._pending.get(key, -1), where.offset + 1)
        self._commit(consumer)
        s = self.stats
        s.batches += 1
        s.stored += result.inserted
        s.duplicates += result.already_stored
        s.dead_letters += len(letters)
        s.notices += len(notices)
        if self.on_batch is not None:
            self.on_batch(s)

    def _send_dead_letters(self, letters, failed_at: datetime) -> None:
        records = [
            (
                msg.key(),
                msg.value(),
                (msg.headers() or [])
                + dlq_headers(
                    topic=msg.topic(),
                    partition=msg.partition(),
                    offset=msg.offset(),
                    reason=reason,
                    failed_at=failed_at,
                ),
            )
            for msg, reason in letters
        ]
        self._send(self.settings.checkin_dlq_topic, records, True)

    def _send(self, topic: str, records, with_headers: bool | None) -> None:
        """Produce and wait until Kafka acknowledged every record (raises _Undelivered)."""
        if not records:
            return
        failures: list[KafkaError] = []

        def delivered(err, _msg) -> None:
            if err is not None:
                failures.append(err)

        for record in records:
            key, value = record[0], record[1]
            headers = record[2] if with_headers else None
            while True:
                try:
                    self._out.produce(
                        topic, value=value, key=key, headers=headers, on_delivery=delivered
                    )
                    break
                except BufferError:
                    self._out.poll(0.1)
        while self._out.flush(1.0) > 0:
            if self.stop.is_set():
                raise Stopped()
        if failures:
            raise _Undelivered(f"{len(failures)} records to {topic} failed: {failures[0]}")

    def _commit(self, consumer: Consumer, only: list[TopicPartition] | None = None) -> None:
        keys = list(self._pending)
        if only is not None:
            wanted = {(tp.topic, tp.partition) for tp in only}
            keys = [k for k in keys if k in wanted]
        if not keys:
            return
        offsets = [TopicPartition(t, p, self._pending[(t, p)]) for t, p in keys]
        try:
            consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            # Not lost: the next owner gets these messages again and the writes are idempotent.
            log.warning("commit failed (will be redelivered): %s", exc)
        for k in keys:
            self._pending.pop(k, None)

    # -- rebalance ------------------------------------------------------------------------
    def _assigned(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        log.info("assigned %s", [p.partition for p in partitions])
        if self.ready_file is not None:
            self.ready_file.parent.mkdir(parents=True, exist_ok=True)
            self.ready_file.write_text(f"{os.getpid()}\n")

    def _revoked(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Batches are handled between consume() calls, so what was written is all pending."""
        log.info("revoked %s", [p.partition for p in partitions])
        self._commit(consumer, partitions)


class _Undelivered(Exception):
    pass
