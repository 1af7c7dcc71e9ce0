"""Downlink: what the bridge does with messages that come down to the node.

Remote commands (`commands.py` intake, idempotency and dispatch; `actions.py` what each
command does), the `[commands]` config section (`commands_config.py`) and safe config apply
with rollback (`config_apply.py`). They run in the bridge process, next to the MQTT link.
"""
