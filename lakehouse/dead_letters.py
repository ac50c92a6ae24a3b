"""The dead-letter record: one shape for every stage that refuses a record.

A ``<feed topic>.dlq`` record (``lakehouse.topics.dead_letter_topic``) is a JSON object:

* ``feed``, ``source``: whose record it was;
* ``reason``: why it was refused, one line;
* ``failed_at``: when (ISO 8601, UTC);
* ``raw``: the payload as received (the producers keep JSON as JSON; the stream keeps the Kafka
  value as text), cut to ``MAX_RAW`` characters with the cut said in the reason;
* ``context``: what a replay needs, e.g. ESPN's ``league``, or the stream's ``stage`` and the
  ``kafka_topic``/``kafka_partition``/``kafka_offset`` it read the record at (also the key of
  the stream's letters, ``topic:partition:offset``, so a letter written twice is one letter).

The producers write these records (``producers.publisher``), the silver stream writes them next
to ``silver.dead_letters``, and ``lakehouse dlq`` reads them back.
"""

from __future__ import annotations

MAX_RAW = 100_000
"""Characters of a refused payload kept in its dead letter: a 2 MB error page must fit a Kafka
record (1 MB by default) and still say what it was."""


TRUNCATION_NOTE = " (raw payload truncated from %d characters)"
"""What a reason gains when the payload was cut to ``MAX_RAW`` characters (printf-style, so
Spark's ``format_string`` writes the same words)."""


def truncation_note(length: int) -> str:
    return TRUNCATION_NOTE % length
