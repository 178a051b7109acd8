"""The stores' time formats, as they were written before there was one helper."""

import re
from datetime import UTC, datetime, timedelta, timezone

from kernel.times import iso, stamp, stamp_now, utc_in, utc_now


def test_the_engine_and_the_accounts_store_keep_their_formats():
    moment = datetime(2026, 1, 31, 12, 0, 5, 123456, tzinfo=UTC)
    assert iso(moment) == "2026-01-31T12:00:05.123456Z"
    assert stamp(moment) == "2026-01-31T12:00:05Z"
    in_brasilia = moment.astimezone(timezone(timedelta(hours=-3)))
    assert iso(in_brasilia) == iso(moment)  # always said in UTC
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", utc_now())
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stamp_now())
    assert utc_in(-60) < utc_now() < utc_in(60)  # the format sorts as time does
