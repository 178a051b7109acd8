import json
import sys
from typing import Any

from kernel.times import utc_now


def log(level: str, msg: str, **fields: Any) -> None:
    """One JSON object per line on stderr, carrying job_id and case_id when known."""
    record = {"ts": utc_now(), "level": level, "msg": msg, **fields}
    print(json.dumps(record, default=str), file=sys.stderr, flush=True)
