"""Files shipped inside the packages (JSON Schemas, systemd units, scenarios, example content),
found through importlib.resources so a node installed from the wheel reads exactly what the
tests read in the checkout: nothing is looked up relative to a source tree.

    package_file("cloud_bridge", "schemas", "counts.v1.json")  -> Path
"""

from importlib.resources import files
from pathlib import Path


def package_file(package: str, *parts: str) -> Path:
    """A data file or folder shipped in `package` (declared in pyproject's package-data).

    A Path, because some callers need a real folder (content is copied, units rendered):
    Walkway is installed unzipped (pip, the balena images), never run from a zip archive.
    """
    resource = files(package).joinpath(*parts)
    return Path(str(resource))
