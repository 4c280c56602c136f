"""The retry schedule: exponential, jittered, capped, and longer than Salesforce's 24-hour window."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from gateway.retry import RetryPolicy


def test_default_schedule_keeps_trying_for_longer_than_24_hours_even_with_unlucky_jitter() -> None:
    assert RetryPolicy().minimum_total_delay() >= 24 * 3600


def test_delays_double_until_the_cap() -> None:
    policy = RetryPolicy(base=2, cap=60, jitter=0)
    assert [policy.delay(n) for n in range(1, 8)] == [2, 4, 8, 16, 32, 60, 60]


@given(attempt=st.integers(min_value=1, max_value=10_000), seed=st.integers(0, 2**32))
def test_every_delay_stays_within_the_jitter_band_of_its_nominal_value(attempt: int, seed: int) -> None:
    policy = RetryPolicy(rng=random.Random(seed))
    nominal = policy.nominal_delay(attempt)
    assert nominal * 0.8 <= policy.delay(attempt) <= nominal * 1.2


def test_a_remote_retry_after_hint_is_never_undercut() -> None:
    assert RetryPolicy(base=1, jitter=0).delay(1, at_least=60) == 60


def test_the_budget_is_exhausted_at_max_attempts() -> None:
    policy = RetryPolicy(max_attempts=3)
    assert not policy.exhausted(2) and policy.exhausted(3)
