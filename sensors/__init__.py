"""Hardware-facing sources. All hardware calls live under this package."""
