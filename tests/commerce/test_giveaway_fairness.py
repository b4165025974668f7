"""The giveaway draw (server/commerce/giveaways/fairness.py): uniform over the entrants (a chi-square
goodness-of-fit over 10,000 draws, judged by its p-value computed here), free of modulo bias by
construction, and reproducible from the published seed and list alone."""

from __future__ import annotations

import hashlib
import math

import pytest

from server.commerce.giveaways import fairness

DRAWS = 10_000
ALPHA = 0.001


def chi_square_p_value(statistic: float, dof: int) -> float:
    """P(X >= statistic) for X ~ chi-square(dof): the regularized upper incomplete gamma Q(dof/2, x/2)
    (series below a + 1, Lentz's continued fraction above; Numerical Recipes 6.2)."""
    a, x = dof / 2.0, statistic / 2.0
    if x <= 0:
        return 1.0
    log_prefix = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1:
        term = total = 1.0 / a
        n = a
        for _ in range(10_000):
            n += 1
            term *= x / n
            total += term
            if abs(term) < abs(total) * 1e-15:
                break
        return 1.0 - total * math.exp(log_prefix)
    tiny = 1e-300
    b = x + 1 - a
    c = 1 / tiny
    d = 1 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-15:
            break
    return math.exp(log_prefix) * h


@pytest.mark.parametrize(
    ("statistic", "dof", "p"),
    [
        (43.820, 19, 0.001),  # the critical value at p = 0.001 for 19 degrees of freedom
        (30.144, 19, 0.05),
        (10.828, 1, 0.001),
        (3.841, 1, 0.05),
        (1.0, 2, math.exp(-0.5)),  # dof 2: exactly exp(-x/2)
        (149.449, 100, 0.001),
        (148.230, 99, 0.001),
    ],
)
def test_the_p_value_matches_the_published_chi_square_table(statistic: float, dof: int, p: float) -> None:
    assert chi_square_p_value(statistic, dof) == pytest.approx(p, rel=2e-3)


def _chi_square(counts: list[int], expected: float) -> float:
    return sum((c - expected) ** 2 / expected for c in counts)


@pytest.mark.parametrize("n", [20, 7, 100])
def test_10000_draws_over_a_fixed_list_are_uniform(n: int) -> None:
    ids = [f"us_{i:04d}" for i in range(n)]
    list_hash = fairness.entrants_hash(ids)
    counts = [0] * n
    for k in range(DRAWS):
        seed = hashlib.sha256(b"fairness-test-seed-%d" % k).digest()  # fixed seeds: a reproducible test
        counts[fairness.winner_index(seed, list_hash, n)] += 1
    statistic = _chi_square(counts, DRAWS / n)
    p = chi_square_p_value(statistic, n - 1)
    assert p > ALPHA, (statistic, p, counts)


def test_the_test_catches_a_biased_draw() -> None:
    """A modulo draw from one byte over 100 entrants favours the first 56: the same test rejects it."""
    n = 100
    counts = [0] * n
    for k in range(DRAWS):
        counts[hashlib.sha256(b"%d" % k).digest()[0] % n] += 1
    assert chi_square_p_value(_chi_square(counts, DRAWS / n), n - 1) < ALPHA


def test_rejection_sampling_skips_the_values_that_would_bias_the_draw(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With n = 3, 2**256 % 3 == 1: the one value at the top is rejected and the next block decides."""
    blocks = iter([(1 << 256) - 1, 5])

    class FakeMac:
        def __init__(self, *_: object) -> None:
            self.value = next(blocks)

        def digest(self) -> bytes:
            return self.value.to_bytes(32, "big")

    monkeypatch.setattr(fairness.hmac, "new", FakeMac)
    assert fairness.winner_index(b"s" * 32, "00" * 32, 3) == 5 % 3


def test_the_draw_is_reproducible_from_the_published_seed_and_list() -> None:
    seed = fairness.new_seed()
    ids = [f"us_{i}" for i in range(1000)]
    published_hash = fairness.entrants_hash(ids)
    index = fairness.winner_index(seed, published_hash, len(ids))
    assert fairness.winner_index(seed, published_hash, len(ids)) == index  # same inputs, same winner
    assert fairness.verify(seed.hex(), fairness.commitment(seed), published_hash, ids) == index
    with pytest.raises(ValueError, match="commitment"):
        fairness.verify(fairness.new_seed().hex(), fairness.commitment(seed), published_hash, ids)
    with pytest.raises(ValueError, match="entrant list"):
        fairness.verify(seed.hex(), fairness.commitment(seed), published_hash, ids[::-1])
    # the hash is what `jq -r '.entrants[].user_id' | sha256sum` prints
    assert published_hash == hashlib.sha256("".join(i + "\n" for i in ids).encode()).hexdigest()
    assert fairness.entrants_hash([]) == hashlib.sha256(b"").hexdigest()
    with pytest.raises(ValueError):
        fairness.winner_index(seed, published_hash, 0)
