"""Clearance: clears drone operations through several independent authorities."""

__version__ = "0.1.0"
