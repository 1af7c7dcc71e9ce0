"""BLE crowd estimates: bleak scanner, privacy-preserving per-window estimator."""
