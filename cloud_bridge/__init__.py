"""Wire schema, topics, uplink (outbox -> MQTT), downlink commands, and the cloud collector."""
