#!/usr/bin/env python3
"""What users would otherwise run: Meta's official Python SDK
(facebook_business) turning the same 10,000 contacts into Conversions API
events: normalise, hash, serialise; no network. Prints events per second.

The contacts follow the formula of `host-harness bench` (bench_contact and
bench_firing in host-harness/src/bench.rs), so both sides do the same work.
Run through `benches/python-sdk` (it installs the SDK in a virtualenv).
"""
import json
import time

from facebook_business.adobjects.serverside.action_source import ActionSource
from facebook_business.adobjects.serverside.custom_data import CustomData
from facebook_business.adobjects.serverside.event import Event
from facebook_business.adobjects.serverside.gender import Gender
from facebook_business.adobjects.serverside.user_data import UserData

COUNT = 10_000


def event(i, now):
    user = UserData(
        emails=[f"User{i}@Example.com"],
        phones=[f"(650) 555-{i % 10000:04}"],
        first_name=f"First{i}",
        last_name="Last",
        gender=Gender.FEMALE if i % 2 == 0 else Gender.MALE,
        date_of_birth=f"1990-01-{i % 28 + 1:02}",
        city="Menlo Park",
        state="California",
        zip_code="94025-1234",
        country_code="US",
        external_id=f"c{i}",
        client_ip_address="203.0.113.9",
        client_user_agent="Mozilla/5.0",
    )
    custom = CustomData(value=10.0 + i, currency="usd", order_id=f"o{i}")
    return Event(
        event_name="Purchase",
        event_time=now - 60,
        user_data=user,
        custom_data=custom,
        event_source_url="https://shop.example/thanks",
        action_source=ActionSource.WEBSITE,
        event_id=f"o{i}",
    )


def main():
    now = int(time.time())
    started = time.perf_counter()
    for i in range(COUNT):
        body = json.dumps({"data": [event(i, now).normalize()], "partner_agent": "bench"})
        assert len(body) > 100
    elapsed = time.perf_counter() - started
    print(f"facebook_business (Python SDK): {COUNT / elapsed:.0f} events/s ({COUNT} events in {elapsed:.2f} s)")


if __name__ == "__main__":
    main()
