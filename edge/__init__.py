"""The node daemon: config, aggregation into bins, the SQLite store and outbox, crew CLI."""
