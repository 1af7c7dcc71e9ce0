"""Walkway signage player: walkable-city scenes in four languages, drawn with pygame-ce.

pygame is imported lazily (inside functions) so that `walkway` commands and config parsing
stay light; see docs/signage.md.
"""
