from __future__ import annotations

import pytest

from agent.probes.rates import COUNTER_32_RANGE, COUNTER_64_RANGE, CounterRates, counter_increase

BOOT = 1_795_000_000.0


@pytest.mark.parametrize(
    ("previous", "current", "expected"),
    [
        (100, 250, 150),
        (COUNTER_32_RANGE - 100, 50, 150),  # 32-bit wrap
        (COUNTER_64_RANGE - 1000, 500, 1500),  # 64-bit wrap
        (1_000_000_000, 1_000, None),  # 32-bit counter fell from its lower half: reset
        (5_000_000_000_000, 1_000, None),  # 64-bit counter restarted
        (7, 7, 0),
    ],
)
def test_counter_increase(previous: int, current: int, expected: int | None) -> None:
    assert counter_increase(previous, current) == expected


def read(rates: CounterRates, value: int, now: float, boot: float = BOOT) -> float | None:
    rates.begin(boot)
    rate = rates.rate("eth0.rx", value, now)
    rates.end()
    return rate


def test_first_read_has_no_rate_then_rate_per_second() -> None:
    rates = CounterRates()
    assert read(rates, 1_000, now=0.0) is None
    assert read(rates, 16_000, now=15.0) == pytest.approx(1000.0)


def test_32_bit_wrap_gives_the_true_rate() -> None:
    rates = CounterRates()
    read(rates, COUNTER_32_RANGE - 5_000, now=0.0)
    assert read(rates, 10_000, now=15.0) == pytest.approx(1000.0)


def test_64_bit_wrap_gives_the_true_rate() -> None:
    rates = CounterRates()
    read(rates, COUNTER_64_RANGE - 5_000, now=0.0)
    assert read(rates, 10_000, now=15.0) == pytest.approx(1000.0)


def test_reboot_gives_no_negative_rate_and_restarts_from_the_new_counter() -> None:
    rates = CounterRates()
    read(rates, 9_000_000, now=0.0)
    read(rates, 9_015_000, now=15.0)
    after_reboot = read(rates, 2_000, now=30.0, boot=BOOT + 900)
    assert after_reboot is None
    assert read(rates, 17_000, now=45.0, boot=BOOT + 900) == pytest.approx(1000.0)


def test_reboot_detected_even_when_the_counter_grew_past_the_old_value() -> None:
    # The counter passed its old value after a long uptime: only boot time tells.
    rates = CounterRates()
    read(rates, 1_000, now=0.0)
    assert read(rates, 10_000_000, now=15.0, boot=BOOT + 900) is None


def test_reset_without_reboot_is_skipped_not_negative() -> None:
    rates = CounterRates()
    read(rates, 1_000_000_000, now=0.0)
    assert read(rates, 500, now=15.0) is None
    assert read(rates, 15_500, now=30.0) == pytest.approx(1000.0)


def test_boot_time_jitter_is_not_a_reboot() -> None:
    rates = CounterRates()
    read(rates, 1_000, now=0.0)
    assert read(rates, 16_000, now=15.0, boot=BOOT + 1.0) == pytest.approx(1000.0)


def test_time_not_advancing_gives_no_rate() -> None:
    rates = CounterRates()
    read(rates, 1_000, now=10.0)
    assert read(rates, 2_000, now=10.0) is None


def test_counters_not_read_in_a_cycle_are_forgotten() -> None:
    rates = CounterRates()
    read(rates, 1_000, now=0.0)
    rates.begin(BOOT)
    rates.end()  # eth0 vanished this cycle
    assert read(rates, 2_000, now=30.0) is None
