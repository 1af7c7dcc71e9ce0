"""The virtual walkway: simulated sensors, crowds and devices for `walkway sim`."""
