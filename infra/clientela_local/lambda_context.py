"""The Lambda context object handed to handlers the local stack invokes.

Powertools (Logger, Idempotency, Metrics) reads these attributes, so a handler behaves the same
whether AWS or the local stack calls it.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field


@dataclass
class LambdaContext:
    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int = 512
    timeout_seconds: float = 60.0
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_stream_name: str = "local"
    _deadline: float = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def function_name(app_name: str, handler_name: str) -> str:
    """The name `chalice deploy` gives a handler's function (stage `local`)."""
    return f"{app_name}-local-{handler_name}"


def new_context(
    app_name: str,
    handler_name: str,
    *,
    region: str,
    account: str,
    memory_mb: int = 512,
    timeout_seconds: float = 60.0,
) -> LambdaContext:
    """A fresh context per invocation: new request id, full time budget."""
    name = function_name(app_name, handler_name)
    return LambdaContext(
        function_name=name,
        invoked_function_arn=f"arn:aws:lambda:{region}:{account}:function:{name}",
        memory_limit_in_mb=memory_mb,
        timeout_seconds=timeout_seconds,
    )
