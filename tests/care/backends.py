"""A message backend for tests: records what it is asked to send and fails on
cue, so the sender's bookkeeping is checked without a gateway."""

import threading

from care.messaging.base import MessageBackend, OutgoingMessage, SendResult


class ScriptedBackend(MessageBackend):
    name = "scripted"
    sent: list[OutgoingMessage] = []
    # recipient -> exceptions to raise on the next sends, in order
    failures: dict[str, list[Exception]] = {}
    _lock = threading.Lock()

    def send(self, message: OutgoingMessage) -> SendResult:
        with self._lock:
            queue = self.failures.get(message.recipient)
            if queue:
                raise queue.pop(0)
            self.sent.append(message)
        return SendResult(gateway_message_id=f"scripted-{message.id}")
