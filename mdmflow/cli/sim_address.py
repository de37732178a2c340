"""Where ``mdmflow dev``'s simulator listens, kept in the data dir while the stack runs.

Its port is picked at start and its API key made per run, so ``mdmflow simulate checkin``
reads both from here instead of asking the user to copy them from the banner. The file is
removed when the stack stops, so a stale address is never used.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from mdmflow.config import ConfigError

FILE_NAME = "simulator.json"


@dataclass(frozen=True)
class SimulatorAddress:
    url: str
    user: str
    api_key: str

    def write(self, data_dir: Path) -> Path:
        """Write it readable by the owner only (it holds the simulator's API key)."""
        path = data_dir / FILE_NAME
        path.touch(mode=0o600)
        path.chmod(0o600)
        path.write_text(json.dumps(asdict(self)) + "\n")
        return path

    @classmethod
    def read(cls, data_dir: Path) -> SimulatorAddress:
        path = data_dir / FILE_NAME
        try:
            fields = json.loads(path.read_text())
            return cls(
                url=str(fields["url"]), user=str(fields["user"]), api_key=str(fields["api_key"])
            )
        except FileNotFoundError:
            raise ConfigError(
                f"no running simulator recorded in {path}: start `mdmflow dev` "
                "(with the same --data-dir) or pass --simulator URL"
            ) from None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"cannot read {path}: {exc!r}") from None
