"""Which Kafka partition a key goes to: exactly Java's default partitioner.

``toPositive(murmur2(key)) % numPartitions``, as Kafka's ``BuiltInPartitioner`` does for a
record with a key, so a Java, Go or Python producer and cachesync agree on where a user's
changes live, and one key always lands on one partition.

The hash runs once per published row, so it is compiled (``cdc/_assemble.c``, which also
partitions the rows it assembles); the tests hold it to Kafka's own vectors and to aiokafka's
pure-Python partitioner.
"""

from __future__ import annotations

from cdc._assemble import murmur2

__all__ = ["murmur2", "partition_for"]


def partition_for(key: bytes, partitions: int) -> int:
    """The partition Java's default partitioner picks for ``key``."""
    if partitions < 1:
        raise ValueError(f"partitions must be at least 1, not {partitions}")
    return (murmur2(key) & 0x7FFFFFFF) % partitions
