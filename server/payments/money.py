"""Money on the wire to providers: integer minor units, zero-decimal currencies as they are."""

from __future__ import annotations

# ISO 4217 currencies with no minor unit (Stripe's zero-decimal list): the amount is whole units.
ZERO_DECIMAL = frozenset(
    {
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    }
)


def stripe_amount(amount: int, currency: str) -> tuple[int, str]:
    """(amount, currency) as Stripe takes them: the smallest unit as is, the code lower-case.

    liveshop keeps every price in the currency's own minor unit (cents for USD, grosze for PLN, won
    for KRW, yen for JPY), which is what Stripe expects, so the number passes unchanged."""
    if amount < 0:
        raise ValueError("negative amount")
    return amount, currency.lower()


def major(amount: int, currency: str) -> str:
    """A human figure for CSV exports: 1999 USD -> "19.99", 15000 KRW -> "15000"."""
    if currency.upper() in ZERO_DECIMAL:
        return str(amount)
    sign = "-" if amount < 0 else ""
    whole, cents = divmod(abs(amount), 100)
    return f"{sign}{whole}.{cents:02d}"
