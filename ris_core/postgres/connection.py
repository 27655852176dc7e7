"""Where the server is, how long to wait for it, and the URL without its password.

The password is kept only inside the connection string handed to libpq: messages and a
database's ``path`` show :func:`redacted`, and a URL that cannot be parsed is refused
without echoing it (psycopg's own message quotes the text, password and all).
"""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import quote

from ris_core.errors import ConfigurationError

__all__ = ["CONNECT_TIMEOUT", "SCHEMES", "connect", "connect_timeout", "conninfo", "is_postgres_url", "redacted"]

#: URL schemes that select PostgreSQL (``+psycopg`` as SQLAlchemy spells the driver).
SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")
#: Seconds to wait for the server to accept a connection; ``$RIS_CONNECT_TIMEOUT`` overrides it.
CONNECT_TIMEOUT = 10


def is_postgres_url(location: object) -> bool:
    """Whether ``location`` names a PostgreSQL database (a ``postgresql://`` URL)."""
    return isinstance(location, str) and location.lower().startswith(SCHEMES)


def connect_timeout() -> int:
    """Seconds to wait for the server (``$RIS_CONNECT_TIMEOUT`` or :data:`CONNECT_TIMEOUT`; libpq's minimum is 2)."""
    text = os.environ.get("RIS_CONNECT_TIMEOUT", "")
    try:
        return max(2, round(float(text))) if text else CONNECT_TIMEOUT
    except ValueError:
        raise ConfigurationError(f"RIS_CONNECT_TIMEOUT must be a number of seconds, not {text!r}") from None


def _libpq_url(url: str) -> str:
    # libpq knows postgresql:// and postgres://, not SQLAlchemy's driver suffix.
    return re.sub(r"^postgresql\+psycopg://", "postgresql://", url, flags=re.IGNORECASE)


def conninfo(url: str) -> dict[str, Any]:
    """The URL's parts as libpq reads them (``user``, ``host``, ``port``, ``dbname``, ``password``...).

    Raises :class:`~ris_core.errors.ConfigurationError`, without the URL, if it cannot be parsed.
    """
    from psycopg.conninfo import conninfo_to_dict

    try:
        return dict(conninfo_to_dict(_libpq_url(url)))
    except Exception:  # psycopg echoes the text it could not parse, password and all
        raise ConfigurationError(
            "the PostgreSQL URL cannot be parsed; write it as postgresql://user@host:port/database "
            "(with ?host=/socket/folder for a Unix socket)"
        ) from None


def redacted(url: str) -> str:
    """The URL without its password: what messages and ``path`` show."""
    info = conninfo(url)
    user = f"{quote(str(info['user']), safe='')}@" if info.get("user") else ""
    host = str(info.get("host") or "")
    port = f":{info['port']}" if info.get("port") else ""
    database = quote(str(info.get("dbname") or ""), safe="")
    if host.startswith("/"):  # a Unix socket folder cannot sit in the authority part
        return f"postgresql://{user}{port}/{database}?host={host}"
    return f"postgresql://{user}{host}{port}/{database}"


def connect(url: str) -> Any:
    """A new autocommit psycopg connection to ``url``, given up after :func:`connect_timeout` seconds.

    Raises psycopg's own errors; :class:`~ris_core.postgres.PostgresDatabase` translates them.
    """
    import psycopg

    return psycopg.connect(_libpq_url(url), autocommit=True, connect_timeout=connect_timeout(), application_name="ris")
