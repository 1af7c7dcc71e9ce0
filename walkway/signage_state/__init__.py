"""The signage state contract: the files in `[signage] state_dir` that the player and the
node's other processes (crew CLI, remote commands, health) exchange.

| file | written by | read by | module |
|---|---|---|---|
| `emergency.json` | crew CLI, `emergency-on` command | player, health | `emergency` |
| `player.json` (heartbeat) | player, every few seconds | health, selftest | `player` |
| `screenshot.request` | `screenshot` command | player | `player` |
| `screenshot-{id}.png` | player | `screenshot` command | `player` |

Every file is replaced with `walkway.files.write_atomic`, so no side reads half a file.
It lives in the core because both sides (signage_player/ and cloud_bridge/downlink/, edge/)
use it and neither may import the other. Documented in docs/operations.md.
"""
