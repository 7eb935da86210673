"""Credentials of a data source: redacted wherever a source is shown, kept out of every output.

A database URL may carry a password in its user part
(``postgresql+psycopg2://cpm:S3cretPw@host/crm``) or in its query string
(``...?password=S3cretPw``), and it may come from the environment: a ``--data`` (or ``data``)
value of the form ``$NAME`` is read from the environment variable ``NAME``
(``cpm report --data '$CPM_DATA_URL'``), which keeps the password off the command line, out of
``ps`` and out of crontab files. libpq's own ``PGPASSWORD`` and ``~/.pgpass`` work as well: the URL
then holds no password at all.

Whatever the form, the program shows a source only through :func:`redact_url` (the password
and every secret-looking query value become ``***``), and :func:`redact_text` removes the
secrets it has seen (:func:`remember_url`) and the values of :data:`SECRET_ENV` from any message
before it is printed or written. The report runner hands a URL to the notebook kernels in the
kernel's environment (:data:`DATA_URL_ENV`), never as a notebook parameter, so executed notebooks
and papermill's metadata hold only the reference ``$CPM_DATA_URL``.

Examples
--------
>>> redact_url("postgresql+psycopg2://cpm:S3cretPw@db.example.com/crm")
'postgresql+psycopg2://cpm:***@db.example.com/crm'
>>> redact_url("postgresql://cpm@db/crm?sslmode=require&password=S3cretPw")
'postgresql://cpm@db/crm?sslmode=require&password=***'
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable
from urllib.parse import unquote, unquote_plus

DATA_URL_ENV = "CPM_DATA_URL"
"""The environment variable through which ``cpm report`` hands a database URL to the kernels
(and a conventional name for your own: ``cpm report --data '$CPM_DATA_URL'``)."""

SECRET_ENV: tuple[str, ...] = ("PGPASSWORD", "MYSQL_PWD")
"""Environment variables whose values are removed from every message (libpq's and MySQL's
password variables)."""

MASK = "***"
MIN_SECRET_LENGTH = 4
"""Shorter secrets are not searched for in free text (they would match ordinary words); the
URL forms are redacted whatever their length."""

_SECRET_NAME = re.compile(r"pass|pwd|secret|token|key|credential|auth", re.IGNORECASE)
_URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<rest>.*)$", re.DOTALL)
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>`]+")
_SECRET_PAIR_IN_TEXT = re.compile(
    r"(?P<name>\b[\w.-]*(?:pass|pwd|secret|token|credential)[\w.-]*)(?P<sep>\s*[=:]\s*)"
    r"(?P<quote>['\"]?)(?P<value>[^\s'\"&,;)]+)",
    re.IGNORECASE,
)
_REFERENCE = re.compile(r"^\$\{?(?P<name>[A-Za-z_][A-Za-z0-9_]*)\}?$")

_remembered: set[str] = set()
_lock = threading.Lock()


def is_secret_name(name: str) -> bool:
    """Tell whether a query-string parameter of a URL holds a secret.

    Secrets are ``password``, ``sslpassword``, ``token``, ``api_key``, ...

    Examples
    --------
    >>> is_secret_name("password"), is_secret_name("sslmode")
    (True, False)
    """
    return bool(_SECRET_NAME.search(name))


def _split(url: str) -> tuple[str, str, str, str, str] | None:
    """``(scheme://, userinfo, host and path, "?" or "", query)``; ``None`` for a non-URL.

    The user part ends at the *last* ``@`` before the query, so a password holding an unescaped
    ``@`` or ``/`` (``cpm:P@ss/word@host``) is cut out whole, where a URL parser would leave its
    tail in the host name.
    """
    match = _URL.match(url)
    if match is None:
        return None
    scheme, rest = match.group("scheme"), match.group("rest")
    head, mark, query = rest.partition("?")
    userinfo = ""
    if not head.startswith("/") and "@" in head:  # sqlite:///a@b.db has no user part
        userinfo, _, head = head.rpartition("@")
    return scheme, userinfo, head, mark, query


def redact_url(url: str) -> str:
    """``url`` with its password and every secret query value replaced by ``***``.

    The same text as SQLAlchemy's ``make_url(url).render_as_string(hide_password=True)`` for an
    ordinary URL, but the query string is redacted too, nothing is re-encoded, and a malformed
    URL (a password with an unescaped ``@``) is redacted whole rather than split.

    Examples
    --------
    >>> redact_url("postgresql://cpm:P@ssw0rd@host:5432/crm")
    'postgresql://cpm:***@host:5432/crm'
    >>> redact_url("sqlite:////srv/crm.db")
    'sqlite:////srv/crm.db'
    >>> redact_url("data/sample")
    'data/sample'
    """
    parts = _split(url)
    if parts is None:
        return url
    scheme, userinfo, head, mark, query = parts
    shown = scheme
    if userinfo:
        user, colon, _ = userinfo.partition(":")
        shown += f"{user}:{MASK}@" if colon else f"{user}@"
    shown += head
    if mark:
        pairs = []
        for pair in query.split("&"):
            name, equals, value = pair.partition("=")
            pairs.append(f"{name}={MASK}" if equals and is_secret_name(unquote(name)) else pair)
        shown += mark + "&".join(pairs)
    return shown


def url_secrets(url: str) -> set[str]:
    """Return the secret values a URL holds.

    They are its password and secret query values, as written and percent-decoded.

    Examples
    --------
    >>> sorted(url_secrets("postgresql://cpm:S3cret%2FPw@host/crm?token=abc123"))
    ['S3cret%2FPw', 'S3cret/Pw', 'abc123']
    """
    parts = _split(url)
    if parts is None:
        return set()
    _, userinfo, _, mark, query = parts
    found: set[str] = set()
    if ":" in userinfo:
        found.add(userinfo.partition(":")[2])
    if mark:
        for pair in query.split("&"):
            name, equals, value = pair.partition("=")
            if equals and is_secret_name(unquote(name)):
                found.add(value)
    found |= {unquote(s) for s in found} | {unquote_plus(s) for s in found}
    return {s for s in found if s}


def remember_url(url: str) -> None:
    """Remember the secrets of ``url`` (and the URL itself) for :func:`redact_text`.

    Examples
    --------
    >>> remember_url("postgresql://cpm:Vault-Pw-17@host/crm")
    >>> redact_text("login failed with Vault-Pw-17")
    'login failed with ***'
    """
    found = url_secrets(url)
    if found:
        found.add(url)
    with _lock:
        _remembered.update(found)


def _known_secrets(extra: Iterable[str]) -> list[str]:
    found = set(extra)
    with _lock:
        found |= _remembered
    for name in SECRET_ENV:
        if os.environ.get(name):
            found.add(os.environ[name])
    if os.environ.get(DATA_URL_ENV):
        found |= url_secrets(os.environ[DATA_URL_ENV])
    return sorted((s for s in found if len(s) >= MIN_SECRET_LENGTH), key=len, reverse=True)


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every URL redacted and every known secret replaced by ``***``.

    Known secrets are ``secrets``, those of the URLs passed to :func:`remember_url`, the values of
    :data:`SECRET_ENV` and those of ``$CPM_DATA_URL``. ``password=...`` pairs (as in a libpq
    connection string) are redacted too.

    Examples
    --------
    >>> redact_text("cannot read from postgresql://cpm:pw@host/crm (timeout)")
    'cannot read from postgresql://cpm:***@host/crm (timeout)'
    >>> redact_text("dsn: host=db user=cpm password=hunter2")
    'dsn: host=db user=cpm password=***'
    """
    text = str(text)
    for secret in _known_secrets(secrets):  # longest first: a URL before its password
        text = text.replace(secret, MASK)
    text = _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)
    return _SECRET_PAIR_IN_TEXT.sub(
        lambda m: m.group("name") + m.group("sep") + m.group("quote") + MASK, text
    )


def expand_reference(value: str, what: str = "data") -> str:
    """Return the value of ``$NAME`` (or ``${NAME}``) from the environment; any other text as it is.

    Raises
    ------
    ValueError
        When the variable is not set or empty; the message names it (never a value).

    Examples
    --------
    >>> import os
    >>> os.environ["CPM_DOCTEST_URL"] = "sqlite:///crm.db"
    >>> expand_reference("$CPM_DOCTEST_URL")
    'sqlite:///crm.db'
    >>> expand_reference("data/sample")
    'data/sample'
    """
    match = _REFERENCE.match(value.strip())
    if match is None:
        return value
    name = match.group("name")
    resolved = os.environ.get(name, "").strip()
    if not resolved:
        raise ValueError(
            f"{what}: environment variable {name} is not set (the data source was given as "
            f"${name}; export it, e.g. {name}=postgresql://user@host/db with the password in "
            "PGPASSWORD or ~/.pgpass)"
        )
    remember_url(resolved)
    return resolved


def is_url(source: str) -> bool:
    """Whether a data source is a URL (``scheme://...``) rather than a folder.

    Examples
    --------
    >>> is_url("sqlite:///crm.db"), is_url("data/sample")
    (True, False)
    """
    return "://" in source
