"""Money arithmetic in integer cents: half-up rounding and largest-remainder allocation.

Every expected figure is worked out by hand in the comments; none comes from the code.
"""

from __future__ import annotations

import random

import pytest

from shop.pricing.arithmetic import allocate, round_half_up


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [
        (5, 2, 3),  # 2.5 -> 3 (a half goes up)
        (3, 2, 2),  # 1.5 -> 2
        (1, 2, 1),  # 0.5 -> 1
        (-5, 2, -3),  # -2.5 -> -3 (a half goes away from zero)
        (-1, 2, -1),  # -0.5 -> -1
        (5, -2, -3),  # the sign may sit on the denominator
        (-5, -2, 3),  # -5 / -2 = 2.5 -> 3
        (7, 3, 2),  # 2.333 -> 2
        (8, 3, 3),  # 2.667 -> 3
        (-7, 3, -2),  # -2.333 -> -2
        (-8, 3, -3),  # -2.667 -> -3
        (0, 7, 0),
        (6, 3, 2),  # exact
        (-6, 3, -2),
        (4999, 10_000, 0),  # 0.4999 -> 0
        (5000, 10_000, 1),  # 0.5 -> 1
        (-5000, 10_000, -1),
        # tax-like: 500 cents at 5.3 % = 500 * 530 / 10000 = 26.5 -> 27
        (500 * 530, 10_000, 27),
        # 3998 cents at 5.3 % = 211.894 -> 212
        (3998 * 530, 10_000, 212),
    ],
)
def test_round_half_up(numerator, denominator, expected):
    assert round_half_up(numerator, denominator) == expected


def test_round_half_up_is_exact_for_numbers_floats_cannot_hold():
    big = 10**30
    # (2 * 10^30 + 1) / 2 = 10^30 + 0.5 -> 10^30 + 1; a float would lose the last digit.
    assert round_half_up(2 * big + 1, 2) == big + 1
    # (2 * 10^30 - 1) / 2 = 10^30 - 0.5 -> 10^30 (away from zero: up to 10^30, not down)
    assert round_half_up(2 * big - 1, 2) == big
    # -(2 * 10^30 + 1) / 2 = -(10^30 + 0.5) -> -(10^30 + 1)
    assert round_half_up(-(2 * big + 1), 2) == -(big + 1)
    # 10^30 / 3 = 333...333.33 -> 333...333 (30 threes)
    assert round_half_up(big, 3) == int("3" * 30)
    # 2 * 10^30 / 3 = 666...666.67 -> 666...667
    assert round_half_up(2 * big, 3) == int("6" * 29 + "7")
    # 2^53 + 1 is the first integer a float cannot hold; halved after doubling it stays.
    assert round_half_up(2 * (2**53 + 1), 2) == 2**53 + 1


def test_round_half_up_refuses_a_zero_denominator():
    with pytest.raises(ZeroDivisionError):
        round_half_up(1, 0)


@pytest.mark.parametrize(
    ("amount", "weights", "expected"),
    [
        # exact shares 1, 2, 3, 4: nothing left over
        (10, [1, 2, 3, 4], [1, 2, 3, 4]),
        # 100 / 3 = 33.33 each: floors 33+33+33 = 99, 1 left, equal remainders -> the first
        (100, [1, 1, 1], [34, 33, 33]),
        # 10 * 1/3 = 3.33 (remainder 1/3), 10 * 2/3 = 6.67 (remainder 2/3): floors 3+6 = 9,
        # the leftover cent goes to the larger remainder, the second part
        (10, [1, 2], [3, 7]),
        # total 7: 300/7 = 42 r 6, 300/7 = 42 r 6, 100/7 = 14 r 2 -> floors 98, 2 left to
        # the two remainders of 6
        (100, [3, 3, 1], [43, 43, 14]),
        # 725 over 1999, 2500, 333 (sum 4832): 725*1999 = 1449275 = 299*4832 + 4507,
        # 725*2500 = 1812500 = 375*4832 + 500, 725*333 = 241425 = 49*4832 + 4657;
        # floors 723, 2 left: to remainders 4657 (third) and 4507 (first)
        (725, [1999, 2500, 333], [300, 375, 50]),
        # zero weights get nothing: 5 over [0, 1, 0, 1] -> 2 and 2, 1 left, tie -> earlier
        (5, [0, 1, 0, 1], [0, 3, 0, 2]),
        # every weight zero: all parts zero
        (3, [0, 0], [0, 0]),
        # nothing to split
        (0, [1, 2], [0, 0]),
        # no parts
        (7, [], []),
        # one part takes it all
        (1234, [5], [1234]),
        # more parts than cents: 2 over four equal weights -> the first two
        (2, [1, 1, 1, 1], [1, 1, 0, 0]),
        # large: (10^18 + 1) / 2 -> 5*10^17 + 1 and 5*10^17
        (10**18 + 1, [1, 1], [5 * 10**17 + 1, 5 * 10**17]),
    ],
)
def test_allocate(amount, weights, expected):
    assert allocate(amount, weights) == expected


def test_allocate_always_sums_exactly_and_stays_within_a_cent_of_the_exact_share():
    rng = random.Random(20261130)
    for _ in range(2000):
        weights = [rng.choice([0, rng.randint(1, 10**6)]) for _ in range(rng.randint(1, 8))]
        amount = rng.randint(0, 10**7)
        parts = allocate(amount, weights)
        total = sum(weights)
        assert len(parts) == len(weights)
        if total == 0:
            assert parts == [0] * len(weights)
            continue
        assert sum(parts) == amount, (amount, weights, parts)
        for part, weight in zip(parts, weights):
            # floor(exact) <= part <= floor(exact) + 1, with exact = amount * weight / total
            floor = amount * weight // total
            assert floor <= part <= floor + 1, (amount, weights, parts)
            if weight == 0:
                assert part == 0
