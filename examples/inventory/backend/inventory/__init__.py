"""Inventory service: products, stock batches and stock movements with FIFO costing."""

__version__ = "0.3.0"
