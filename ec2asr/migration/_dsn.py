"""PostgreSQL connection strings, with the password kept out of every message.

A DSN may carry a password (``postgresql://user:pw@host/db`` or ``password=pw`` in the keyword
form); it is taken out at once, kept as a :class:`~ec2asr._secret.Secret` and handed to the
driver only when connecting. What ec2asr prints is :attr:`DatabaseDsn.redacted`:
``postgresql://user@host:5432/db``. Prefer no password in the DSN at all: libpq reads
``PGPASSWORD``, ``~/.pgpass`` and ``PGSERVICE`` by itself.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

import attrs

from ec2asr._secret import Secret
from ec2asr.errors import InvalidInputError

__all__ = ["DatabaseDsn", "scrub"]

_KEYWORD_PASSWORD = re.compile(r"""(?i)\bpassword\s*=\s*('(?:[^'\\]|\\.)*'|[^\s]*)""")


def _raw_password(dsn: str) -> str | None:
    """The password written in ``dsn``, found without the driver (to scrub messages)."""
    if "://" in dsn:
        try:
            found = urlsplit(dsn).password
        except ValueError:
            found = None
        if found:
            return unquote(found)
        query = re.search(r"(?i)[?&]password=([^&#]*)", dsn)
        return unquote(query.group(1)) if query else None
    match = _KEYWORD_PASSWORD.search(dsn)
    if not match:
        return None
    value = match.group(1)
    if value.startswith("'"):
        value = re.sub(r"\\(.)", r"\1", value[1:-1])
    return value or None


def scrub(text: str, *secrets: Secret | str | None) -> str:
    """``text`` with every given secret replaced by ``**********``."""
    for secret in secrets:
        value = secret.reveal() if isinstance(secret, Secret) else secret
        if value:
            text = text.replace(value, "**********")
    return text


@attrs.frozen(repr=False)
class DatabaseDsn:
    """A parsed DSN: the driver's options without the password, and the password apart.

    Attributes:
        options: libpq connection options (``host``, ``port``, ``dbname``, ``user`` ...),
            never the password.
        password: The password, if the DSN (or the caller) gave one.
    """

    options: dict[str, str] = attrs.field(hash=False)
    password: Secret | None = None

    def __repr__(self) -> str:
        return f"DatabaseDsn({self.redacted!r})"

    @classmethod
    def parse(cls, dsn: str, *, password: Secret | None = None) -> DatabaseDsn:
        """Parse a ``postgresql://`` URL or a libpq keyword string.

        Raises:
            InvalidInputError: It is not a DSN libpq understands (the message never shows
                the password).
        """
        if not isinstance(dsn, str) or not dsn.strip():
            raise InvalidInputError("the journal database DSN must be a non-empty string")
        if password is not None and not isinstance(password, Secret):
            raise InvalidInputError("password must be an ec2asr.Secret")
        raw = _raw_password(dsn)
        from psycopg import ProgrammingError
        from psycopg.conninfo import conninfo_to_dict

        try:
            parsed = conninfo_to_dict(dsn)
        except ProgrammingError as exc:
            raise InvalidInputError(
                f"not a PostgreSQL DSN libpq understands: {scrub(str(exc), raw)}"
            ) from None
        options = {k: str(v) for k, v in parsed.items() if v is not None}
        given = options.pop("password", None) or raw
        if password is None and given:
            password = Secret(given, label="journal database password")
        return cls(options=options, password=password)

    @property
    def redacted(self) -> str:
        """``postgresql://user[:***]@host:port/dbname``: safe to print and log."""
        o = self.options
        user = o.get("user", "")
        secret = ":***" if self.password is not None else ""
        auth = f"{user}{secret}@" if user or secret else ""
        host = o.get("host") or o.get("hostaddr") or "localhost"
        port = f":{o['port']}" if o.get("port") else ""
        db = o.get("dbname", "")
        return f"postgresql://{auth}{host}{port}/{db}"

    def connect_kwargs(self) -> dict[str, str]:
        """What to pass to the driver (reveals the password: call only to connect)."""
        out = dict(self.options)
        if self.password is not None:
            out["password"] = self.password.reveal()
        return out

    def scrub(self, text: str) -> str:
        """``text`` without the password."""
        return scrub(text, self.password)
