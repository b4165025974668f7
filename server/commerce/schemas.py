"""Request bodies of the commerce API: strict types, bounded numbers, field-named errors."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import AnyHttpUrl, AwareDatetime, EmailStr, Field, field_validator, model_validator

from server.api.validation import Body

MAX_UNITS = 1_000_000
MAX_PRICE = 100_000_000  # minor units
CURRENCY_PATTERN = r"^[A-Z]{3}$"  # ISO 4217 code, e.g. USD


class ProductIn(Body):
    sku: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    title: str = Field(min_length=1, max_length=200)
    price: int = Field(ge=0, le=MAX_PRICE, description="minor units")
    currency: str | None = Field(
        None, pattern=CURRENCY_PATTERN, description="ISO 4217 code, e.g. USD; the shop's currency if omitted"
    )
    stock: int = Field(ge=0, le=MAX_UNITS)
    image_url: str | None = Field(None, max_length=1000)
    description: str = Field("", max_length=5000)

    @field_validator("image_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None or value.startswith("/"):
            return value
        AnyHttpUrl(value)
        return value


class ProductPatch(Body):
    title: str | None = Field(None, min_length=1, max_length=200)
    price: int | None = Field(None, ge=0, le=MAX_PRICE)
    currency: str | None = Field(None, pattern=CURRENCY_PATTERN)
    stock: int | None = Field(None, ge=0, le=MAX_UNITS)
    image_url: str | None = Field(None, max_length=1000)
    description: str | None = Field(None, max_length=5000)

    _url = field_validator("image_url")(ProductIn._url.__func__)  # type: ignore[attr-defined]


class BroadcastIn(Body):
    title: str = Field(min_length=1, max_length=200)


class PinIn(Body):
    product_id: str = Field(min_length=1, max_length=60)


class OfferIn(Body):
    product_id: str = Field(min_length=1, max_length=60)
    price: int = Field(ge=0, le=MAX_PRICE, description="offer price in the product's currency, minor units")
    quantity: int = Field(ge=1, le=MAX_UNITS)
    per_buyer_limit: int = Field(1, ge=1, le=1000)
    duration_s: int = Field(ge=5, le=24 * 3600)
    verified_only: bool = Field(False, description="only buyers who verified an email address may claim")


class ReservationIn(Body):
    quantity: int = Field(1, ge=1, le=1000)


class BuyerIn(Body):
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    address: str = Field(min_length=1, max_length=1000)


COUPON_CODE = r"^[A-Za-z0-9_-]{3,32}$"


class OrderIn(Body):
    reservation_id: str = Field(min_length=1, max_length=80)
    buyer: BuyerIn
    coupon: str | None = Field(None, pattern=COUPON_CODE, description="a live coupon's code (case-blind)")


class CouponIn(Body):
    code: str = Field(pattern=COUPON_CODE, description="what viewers type at checkout (case-blind)")
    percent_off: int | None = Field(None, ge=1, le=100)
    amount_off: int | None = Field(None, ge=1, le=MAX_PRICE, description="minor units of `currency`")
    currency: str | None = Field(None, pattern=CURRENCY_PATTERN, description="required with amount_off")
    max_uses: int = Field(ge=1, le=MAX_UNITS, description="redemptions in all")
    max_per_buyer: int = Field(1, ge=1, le=1000)
    expires_at: AwareDatetime | None = Field(None, strict=False, description="ISO 8601 with its offset")
    duration_s: int | None = Field(None, ge=10, le=30 * 24 * 3600)

    @model_validator(mode="after")
    def _one_of_each(self) -> CouponIn:
        if (self.percent_off is None) == (self.amount_off is None):
            raise ValueError("give exactly one of percent_off and amount_off")
        if self.amount_off is not None and self.currency is None:
            raise ValueError("amount_off needs its currency")
        if (self.expires_at is None) == (self.duration_s is None):
            raise ValueError("give exactly one of expires_at and duration_s")
        return self

    def ends(self, now: datetime) -> datetime:
        """When the coupon stops being redeemable."""
        return (
            self.expires_at if self.expires_at is not None else now + timedelta(seconds=self.duration_s or 0)
        )


class AuctionIn(Body):
    product_id: str = Field(min_length=1, max_length=60)
    starting_bid: int = Field(ge=1, le=MAX_PRICE, description="the lowest first bid, minor units")
    increment: int = Field(ge=1, le=MAX_PRICE, description="each bid beats the high bid by at least this")
    duration_s: int = Field(ge=5, le=24 * 3600)
    anti_snipe_s: int = Field(0, ge=0, le=3600, description="a bid this close to the end extends it")
    reserve_price: int | None = Field(None, ge=1, le=MAX_PRICE, description="no sale below it (kept private)")
    sudden_death_s: int | None = Field(
        None,
        ge=1,
        le=3600,
        description="sudden death: no extensions; after the main time the first accepted bid within "
        "this many seconds wins at once (none: the last high bid wins)",
    )


class BidIn(Body):
    """A plain bid (`amount`) or a max bid (`max_amount`: the server bids for the viewer, one step
    at a time, up to it); exactly one of the two."""

    amount: int | None = Field(None, ge=1, le=MAX_PRICE, description="in the product's currency, minor units")
    max_amount: int | None = Field(
        None, ge=1, le=MAX_PRICE, description="the most the server may bid for you (private to you)"
    )
