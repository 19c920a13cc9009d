"""The local stack for development, tests and the demo: real services on loopback."""

from cachesync.stack.layout import GRANTS, KAFKA_VERSION, Ports, StackInfo
from cachesync.stack.services import ServiceStatus, Stack, StackError

__all__ = ["GRANTS", "KAFKA_VERSION", "Ports", "ServiceStatus", "Stack", "StackError", "StackInfo"]
