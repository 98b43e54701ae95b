"""What one measured operation cost: requests by API, and DynamoDB reads and writes as billed."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class TableUse:
    """DynamoDB use of one API on one table. Bytes are the sizes AWS bills on."""

    requests: int = 0
    items_read: int = 0
    bytes_read: int = 0
    read_units: float = 0.0
    items_written: int = 0
    bytes_written: int = 0
    write_units: float = 0.0
    lower_bound: bool = False  # filtered or projected reads: AWS bills items we did not see

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Usage:
    """Everything the metered clients did inside one measurement."""

    requests: Counter[str] = field(default_factory=Counter)  # "dynamodb:GetItem" -> count
    tables: dict[tuple[str, str], TableUse] = field(default_factory=dict)  # (API, table)
    retries: int = 0
    put_events_entries: list[int] = field(default_factory=list)  # entries per PutEvents call
    event_entry_bytes: list[int] = field(default_factory=list)  # size of each entry sent

    def table(self, api: str, table: str) -> TableUse:
        return self.tables.setdefault((api, table), TableUse())

    def combined(self) -> TableUse:
        """Every API and table added up."""
        total = TableUse()
        for use in self.tables.values():
            for name, value in use.as_dict().items():
                setattr(total, name, getattr(total, name) + value)
        total.lower_bound = any(use.lower_bound for use in self.tables.values())
        return total

    def requests_of(self, service: str) -> Counter[str]:
        prefix = service + ":"
        return Counter(
            {
                key.removeprefix(prefix): n
                for key, n in self.requests.items()
                if key.startswith(prefix)
            }
        )
