"""Walkway: edge IoT gateway and signage fleet for Sapporo's walkable-city programme."""

__version__ = "0.1.0"
