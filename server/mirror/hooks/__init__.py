"""Outbound webhooks for the shop's own systems (fulfilment, ERP, accounting): endpoints with their own
secrets, events taken from the same outbox as the platform mirror, signed deliveries with retries,
a delivery log and replay."""
