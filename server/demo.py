"""The demo shop: a host account, eight products with pictures, and a broadcast ready to go live."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.api.auth import create_host
from server.api.models import Membership, User
from server.broadcasts import Broadcast
from server.db.base import new_id
from server.inventory.models import Product

DEMO_EMAIL = "host@demo.liveshop"
DEMO_PASSWORD = "liveshop-demo"
IMAGES = Path(__file__).parent / "static" / "products"


@dataclass(frozen=True)
class DemoProduct:
    sku: str
    title: str
    price: int
    stock: int
    color: str
    description: str


PRODUCTS = (
    DemoProduct(
        "TEE-ORG-01", "Organic Cotton Tee", 2400, 500, "#e4572e", "Heavyweight organic cotton, boxy fit."
    ),
    DemoProduct("HOOD-FLC-02", "Fleece Hoodie", 5900, 300, "#4c6ef5", "Brushed fleece, kangaroo pocket."),
    DemoProduct("CAP-CRD-03", "Corduroy Cap", 2200, 400, "#a17c4f", "Six-panel corduroy with brass buckle."),
    DemoProduct("MUG-CER-04", "Stoneware Mug", 1800, 600, "#2f9e44", "Hand-glazed, 350 ml, dishwasher safe."),
    DemoProduct(
        "SNK-RUN-05", "Everyday Runner", 8900, 200, "#f08c00", "Lightweight knit runner with foam sole."
    ),
    DemoProduct("BAG-TOT-06", "Canvas Tote", 1500, 800, "#1098ad", "12 oz canvas, inside pocket."),
    DemoProduct("LMP-DSK-07", "Desk Lamp", 4900, 150, "#7048e8", "Dimmable LED, warm to cool."),
    DemoProduct("EAR-WRL-08", "Wireless Earbuds", 7900, 250, "#343a40", "ANC, 30 h with case."),
)


def product_svg(p: DemoProduct) -> str:
    """A simple picture per product, so the demo shows images without fetching any."""
    initials = "".join(word[0] for word in p.title.split()[:2])
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="480" height="480" viewBox="0 0 480 480">'
        f'<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="{p.color}"/>'
        '<stop offset="1" stop-color="#111"/></linearGradient></defs>'
        '<rect width="480" height="480" rx="36" fill="url(#g)"/>'
        '<circle cx="240" cy="210" r="120" fill="rgba(255,255,255,0.15)"/>'
        f'<text x="240" y="250" font-family="sans-serif" font-size="120" font-weight="700" fill="#fff" '
        f'text-anchor="middle">{initials}</text>'
        f'<text x="240" y="420" font-family="sans-serif" font-size="30" fill="#fff" text-anchor="middle">'
        f"{p.title}</text></svg>"
    )


async def seed(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, str]:
    """Idempotent: makes what is missing and returns the host login and the demo broadcast."""
    async with sessionmaker() as session:
        host = (await session.execute(select(User).where(User.email == DEMO_EMAIL))).scalar_one_or_none()
    if host is None:
        host = await create_host(sessionmaker, DEMO_EMAIL, DEMO_PASSWORD, "Demo Shop", shop_name="Demo Shop")
    async with sessionmaker() as session, session.begin():
        membership = await session.get(Membership, host.id)
        assert membership is not None, "the demo host belongs to the demo shop"
        shop_id = membership.shop_id
        known = set((await session.execute(select(Product.sku))).scalars().all())
        for p in PRODUCTS:
            if p.sku not in known:
                session.add(
                    Product(
                        id=new_id("pr"),
                        shop_id=shop_id,
                        sku=p.sku,
                        title=p.title,
                        price=p.price,
                        currency="USD",
                        stock=p.stock,
                        image_url=f"/static/products/{p.sku}.svg",
                        description=p.description,
                    )
                )
        broadcast = (
            (
                await session.execute(
                    select(Broadcast)
                    .where(Broadcast.host_id == host.id, Broadcast.status != "ended")
                    .order_by(Broadcast.created_at)
                )
            )
            .scalars()
            .first()
        )
        if broadcast is None:
            broadcast = Broadcast(
                id=new_id("bc"),
                shop_id=shop_id,
                host_id=host.id,
                title="Friday Drop: live deals",
                status="scheduled",
                stream_key="sk_" + new_id("demo"),
            )
            session.add(broadcast)
    return {"email": DEMO_EMAIL, "password": DEMO_PASSWORD, "broadcast_id": broadcast.id}


def write_images() -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    for p in PRODUCTS:
        (IMAGES / f"{p.sku}.svg").write_text(product_svg(p))


if __name__ == "__main__":
    write_images()
