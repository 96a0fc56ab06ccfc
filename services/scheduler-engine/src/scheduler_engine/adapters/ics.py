"""The ICS feed of a user's blocks (RFC 5545 through `icalendar`): subscribable from Google and Apple calendars.

UID = the block's id, so an event is the same event across fetches; SEQUENCE grows with every move;
times in UTC. Subscribers refetch at REFRESH-INTERVAL / X-PUBLISHED-TTL at best: Google Calendar refreshes
subscribed feeds only every 12 to 24 hours, whatever the feed asks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta

from icalendar import Calendar, Event, vDuration

from scheduler_engine.domain.models import StoredBlock

PRODUCT_ID = "-//Planner & Memory//scheduler-engine//EN"


def render_feed(user_id: str, blocks: Sequence[StoredBlock], *, now: datetime, refresh: timedelta) -> tuple[bytes, str]:
    """The calendar as bytes, and its ETag (of the content: the same blocks give the same ETag)."""
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", f"Focus blocks ({user_id})")
    calendar.add("refresh-interval", vDuration(refresh), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(refresh))
    for block in blocks:
        calendar.add_component(_event(block, now))
    etag = hashlib.sha256(_fingerprint(user_id, blocks, refresh).encode()).hexdigest()[:32]
    return calendar.to_ical(), f'"{etag}"'


def _event(block: StoredBlock, now: datetime) -> Event:
    event = Event()
    event.add("uid", str(block.block_id))
    event.add("dtstamp", now)
    event.add("dtstart", block.start)
    event.add("dtend", block.end)
    event.add("sequence", block.sequence)
    event.add("summary", block.title)
    event.add("description", f"Task {block.task_id}" + (" (done)" if block.status == "done" else ""))
    event.add("status", "CONFIRMED")
    event.add("transp", "OPAQUE")
    return event


def _fingerprint(user_id: str, blocks: Sequence[StoredBlock], refresh: timedelta) -> str:
    # DTSTAMP (the fetch time) is left out: the ETag changes only when a block does.
    parts = [user_id, str(refresh)] + [
        f"{b.block_id}|{b.start.isoformat()}|{b.end.isoformat()}|{b.sequence}|{b.title}|{b.status}" for b in blocks
    ]
    return "\n".join(parts)
