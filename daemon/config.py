"""Settings of a running daemon, from the command line and the environment."""

from __future__ import annotations

from dataclasses import dataclass

from .paths import DataDir

__all__ = ["ServeConfig"]


@dataclass(frozen=True)
class ServeConfig:
    data_dir: DataDir
    host: str = "0.0.0.0"  # noqa: S104 - a LAN appliance listens on the LAN
    port: int = 8443
    http_port: int | None = 8080
    tls: bool = True
    mdns: bool = True
    #: Largest JSON body accepted (uploads and imports stream and have their own limits).
    max_json_body: int = 1024 * 1024
    max_file_size: int = 4 * 1024**3
    session_idle_seconds: int = 8 * 3600
    session_max_seconds: int = 7 * 24 * 3600
    #: How often a locked box looks for its unattended-unlock key file (a stat and a read).
    key_file_interval: float = 5.0
