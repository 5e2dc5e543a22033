"""The one money formatter: amounts without signs, differences in words."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra_mind.engine.money import (
    budget_position,
    per_month,
    qty,
    unit_price,
    usd,
    usd_change,
)


def test_amounts_read_one_way():
    assert usd(1693.97) == "$1,693.97"
    assert usd(0) == "$0.00"
    assert usd(0.004) == "$0.00"
    assert usd(1_234_567.891) == "$1,234,567.89"
    assert per_month(17.28) == "$17.28 a month"


@pytest.mark.parametrize("bad", [-5.0, math.inf, math.nan])
def test_a_negative_or_non_finite_amount_is_refused(bad):
    with pytest.raises(ValueError):
        usd(bad)


def test_minus_zero_after_rounding_is_zero():
    assert usd(-0.001) == "$0.00"


def test_unit_prices_keep_their_decimals():
    assert unit_price(0.0225) == "$0.0225"
    assert unit_price(0.1) == "$0.10"
    assert unit_price(2) == "$2.00"
    assert unit_price(1234.5678) == "$1,234.5678"


def test_differences_say_which_way():
    assert usd_change(46.375) == "$46.38 more"
    assert usd_change(-231.42) == "$231.42 less"
    assert usd_change(0.004) == "the same"
    assert budget_position(611.51, 1600) == "$988.49 under budget"
    assert budget_position(112, 100) == "$12.00 over budget"
    assert budget_position(100, 100) == "exactly on budget"


@given(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False))
def test_no_sign_is_ever_written(delta):
    text = usd_change(delta)
    assert "-" not in text
    assert text == "the same" or text.startswith("$")


def test_quantities_read_as_written_never_in_exponents():
    assert [qty(x) for x in (120_300.0, 2e6, 1_234_567.5, 63.75, 0.25, 1e-5, 0)] == [
        "120,300", "2,000,000", "1,234,568", "63.75", "0.25", "0.00001", "0"]
    assert [qty(x, 4) for x in (304.1667, 10.0000011, 12_345.6)] == ["304.2", "10", "12,346"]


@given(st.floats(min_value=1e-6, max_value=1e12, allow_nan=False))
def test_no_quantity_is_written_in_an_exponent(x):
    text = qty(x)
    assert "e" not in text and float(text.replace(",", "")) == pytest.approx(x, rel=1e-5)
