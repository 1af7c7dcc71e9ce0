"""Camera pedestrian counting: capture, detector, tracker and line counters (docs/camera.md)."""
