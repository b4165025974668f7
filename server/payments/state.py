"""The payments feature's per-app state: its settings, its desk (the checkout seam) and its ledger."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from server.payments.checkout import PaymentDesk
from server.payments.config import PaymentSettings
from server.payments.ledger import Ledger
from server.payments.providers.base import Provider
from server.payments.reconcile import Reconciler


@dataclass
class PaymentsState:
    config: PaymentSettings
    desk: PaymentDesk
    ledger: Ledger
    reconciler: Reconciler

    @property
    def provider(self) -> Provider | None:
        return self.ledger.provider

    def configure(self, config: PaymentSettings) -> None:
        """Use other settings (before the app starts: tests point providers at their sandboxes)."""
        self.config = config
        self.desk.config = config
        self.reconciler.config = config


PAYMENTS_STATE = web.AppKey("payments_state", PaymentsState)
