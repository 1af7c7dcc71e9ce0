"""Source types, chosen by the `type` key of a `[[sources]]` table, in this one place.

Each module named here provides:
  parse_options(table: ConfigTable) -> object     # validate the source's own keys
  open_source(spec: SourceSpec, ctx: SourceContext) -> Source
Modules are imported lazily, so validating a config never imports cv2, bleak or serial.
"""

import importlib
import importlib.util
from types import MappingProxyType, ModuleType

SOURCE_TYPES = MappingProxyType(
    {
        "replay": "sensors.replay.source",
        "camera": "sensors.camera.source",
        "ble": "sensors.ble.source",
        "tfluna": "sensors.serial.tfluna",
        "maxbotix": "sensors.serial.maxbotix",
        "wxt530": "sensors.serial.wxt530",
    }
)


def source_module(source_type: str) -> ModuleType:
    return importlib.import_module(SOURCE_TYPES[source_type])


def available_types() -> list[str]:
    """Types whose module is present in this checkout."""
    found = []
    for name, module in SOURCE_TYPES.items():
        if importlib.util.find_spec(module.rsplit(".", 1)[0]) is None:
            continue
        try:
            if importlib.util.find_spec(module) is not None:
                found.append(name)
        except ModuleNotFoundError:
            continue
    return found
