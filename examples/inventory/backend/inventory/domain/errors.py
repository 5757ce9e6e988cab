"""Errors the domain raises; the API maps each to one HTTP status."""

from __future__ import annotations


class InventoryError(Exception):
    """Root of the service's expected errors."""


class NotFoundError(InventoryError):
    def __init__(self, kind: str, key: object) -> None:
        super().__init__(f"{kind} {key!r} not found")
        self.kind = kind
        self.key = key


class ConflictError(InventoryError):
    """The request is valid but clashes with what is stored (duplicate SKU, ...)."""


class InsufficientStockError(InventoryError):
    def __init__(self, requested: int, available: int) -> None:
        super().__init__(f"requested {requested} but only {available} in stock")
        self.requested = requested
        self.available = available


class InvalidQuantityError(InventoryError):
    """A quantity that makes no sense for the operation (zero, negative, ...)."""
