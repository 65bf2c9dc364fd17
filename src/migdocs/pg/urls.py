"""Connection URLs and conninfo strings, read as libpq reads them: redacted for every message,
checked before use, and changed (another database, another login) without losing a part."""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from migdocs.errors import MigdocsError

_SECRET_PARAMS = frozenset({"password", "sslpassword"})


def redact_url(url: str) -> str:
    """Return a connection URL or conninfo string with every password removed.

    ``postgresql://auditor:s3cret@db.example:5432/app?sslpassword=x`` becomes
    ``postgresql://auditor@db.example:5432/app``; ``host=db password=x dbname=app`` becomes
    ``host=db dbname=app``. A URL is split where libpq splits it (its password runs to the
    first ``@``, ``?`` and ``#`` included), not where ``urllib`` would. One that libpq cannot
    parse, or that parses into a host or database name a password could be part of, becomes
    ``<unparseable URL of host db.example>``, or ``<unparseable URL>`` when no host can be
    told apart from the rest.
    """
    if unusable_url(url) is not None:
        return _unparseable(url)
    if "://" not in url:
        params = conninfo_to_dict(url)
        return make_conninfo("", **{k: v for k, v in params.items() if k not in _SECRET_PARAMS})
    scheme, user, hosts, path, query = _libpq_split(url)
    kept = _without(query, set(_SECRET_PARAMS))
    netloc = f"{user}@{hosts}" if user else hosts
    # A user name may be the password itself: the password never shows, whatever holds it.
    return scrub_secrets(_unsplit(scheme, netloc, path, kept if query else ""), url)


def unusable_url(url: str) -> str | None:
    """Why ``url`` cannot be used as a database URL or conninfo string, in words that quote
    none of it (libpq's own messages quote the token they stopped at, or the whole URL);
    ``None`` when libpq parses it and it reads as a URL's writer meant it.
    """
    try:
        conninfo_to_dict(url)
    except psycopg.ProgrammingError as error:
        reason = _unquoted(" ".join(str(error).split()))
        if "percent-encoded" in reason:
            reason += " (a % in a password is written %25)"
        return reason
    if "://" in url:
        _, _, hosts, path, _ = _libpq_split(url)
        if not _URL_HOSTS.fullmatch(hosts) or "@" in path:
            # libpq took a piece of the password for a port or a database name.
            return (
                "its host, port or database name is not valid "
                "(write @ and / in a password as %40 and %2F)"
            )
    return None


def checked_url(url: str, source: str) -> str:
    """``url``, when libpq can use it as it reads.

    Args:
        url: A database URL or conninfo string.
        source: Where it was given, for the message: ``--database-url``, ``FILE:LINE``, an
            environment variable.

    Raises:
        MigdocsError: naming ``source`` and at most the URL's host, and saying why.
    """
    problem = unusable_url(url)
    if problem is not None:
        host = _host_of(url)
        where = f" (host {host})" if host else ""
        raise MigdocsError(f"{source}: not a PostgreSQL URL or conninfo string{where}: {problem}")
    return url


#: A URL's hosts as libpq reads them: each a name, an IP address or ``[IPv6]`` (or empty,
#: for the default or a socket folder given percent-encoded), with an optional numeric port.
_URL_HOST = r"(?:\[[0-9A-Za-z:.%]+\]|[A-Za-z0-9._~%-]*)(?::[0-9]*)?"
_URL_HOSTS = re.compile(rf"{_URL_HOST}(?:,{_URL_HOST})*")
#: The hosts of an unparseable URL or conninfo string, shown only when they look like nothing
#: but hosts: a piece of a password could look like a name, never like this and more.
_PLAIN_HOST = r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::[0-9]+)?"
_PLAIN_HOSTS = re.compile(rf"{_PLAIN_HOST}(?:,{_PLAIN_HOST})*")


def _libpq_split(url: str) -> tuple[str, str, str, str, str]:
    """A URL's scheme, user (still percent-encoded), hosts, path and query, split as libpq
    splits them: the user and password run to the first ``@`` before any ``/``; the hosts
    end at ``/`` or ``?``; there is no fragment."""
    scheme, login, hosts, path, query = _libpq_pieces(url)
    return scheme, login.partition(":")[0], hosts, path, query


def _libpq_pieces(url: str) -> tuple[str, str, str, str, str]:
    """Like `_libpq_split`, with the user and password as written (``user:password``)."""
    scheme, _, rest = url.partition("://")
    login = ""
    end = min((i for i in (rest.find("@"), rest.find("/")) if i >= 0), default=-1)
    if end >= 0 and rest[end] == "@":
        login = rest[:end]
        rest = rest[end + 1 :]
    # An IPv6 address in brackets holds neither "/" nor "?".
    cut = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    hosts, rest = rest[:cut], rest[cut:]
    path, _, query = rest.partition("?")
    return scheme, login, hosts, path, query


def _without(query: str, names: set[str]) -> str:
    """A URL's query without the parameters ``names``."""
    pairs = query.split("&") if query else []
    return "&".join(pair for pair in pairs if unquote(pair.partition("=")[0]) not in names)


def _unparseable(url: str) -> str:
    """What names a URL that cannot be shown: its host, when one can be told apart."""
    kind = "URL" if "://" in url else "connection string"
    host = _host_of(url)
    return f"<unparseable {kind} of host {host}>" if host else f"<unparseable {kind}>"


def _host_of(url: str) -> str | None:
    """The hosts (and ports) of a URL or conninfo string libpq cannot parse, where they can
    be told apart from the rest: the text after the last ``@`` (a password may hold one),
    or a conninfo string's ``host=``, when it looks like nothing but hosts."""
    if "://" in url:
        rest = url.partition("://")[2]
        at = rest.rfind("@")
        # An "@" after "?…=" may be inside a query value (a password): then nothing after it
        # can be trusted to be the host.
        if at >= 0 and "=" in rest[:at].partition("?")[2]:
            return None
        hosts = re.split(r"[/?]", rest[at + 1 :], maxsplit=1)[0]
    else:
        # Up to the first quote: a quoted value (a password) may hold "host=" itself.
        found = re.search(r"(?:^|\s)host\s*=\s*(\S+)", url.partition("'")[0])
        hosts = found.group(1) if found else ""
    return hosts if _PLAIN_HOSTS.fullmatch(hosts) else None


def _unquoted(message: str) -> str:
    """A libpq message cut at the first thing it quotes of the connection string.

    Quotes of one character, such as ``"="`` or ``"]"``, are the grammar, not the input, and
    stay; from the first longer one on, nothing is kept, since a token holding a quote
    itself would pair the quotes wrongly after it.
    """
    kept = re.match(r"""(?:[^"']|"[^"]?"|'[^']?')*""", message)
    prefix = kept.group(0) if kept else ""
    if len(prefix) == len(message):
        return message
    prefix = prefix.rstrip()
    return prefix.rstrip(":") if prefix.endswith(":") else f"{prefix} …"


def scrub_secrets(message: str, url: str) -> str:
    """Remove the password of ``url`` from a message, should a driver ever repeat it; of a
    URL libpq cannot parse (or parses otherwise than it reads), remove all it quotes."""
    if unusable_url(url) is not None:
        return _unquoted(message)
    params = conninfo_to_dict(url)
    for key in _SECRET_PARAMS:
        secret = str(params.get(key) or "")
        if len(secret) >= 3:
            message = message.replace(secret, "***").replace(quote(secret, safe=""), "***")
    return message


def with_dbname(url: str, dbname: str) -> str:
    """The connection string ``url`` pointed at another database, in the same form; a URL
    is changed where libpq reads its parts, so a password keeps whatever it holds."""
    if "://" not in url:
        return make_conninfo(url, dbname=dbname)
    scheme, login, hosts, _, query = _libpq_pieces(url)
    netloc = f"{login}@{hosts}" if login else hosts
    return _unsplit(scheme, netloc, "/" + quote(dbname, safe=""), _without(query, {"dbname"}))


def holds_password(url: str) -> bool:
    """Whether a connection URL or conninfo string carries a password."""
    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "password" in url
    return any(params.get(key) for key in _SECRET_PARAMS)


def with_login(url: str, user: str, password: str | None) -> str:
    """The connection string ``url`` with another user, and its password or none, in the
    same form."""
    if "://" not in url:
        params = {**conninfo_to_dict(url), "user": user}
        params.pop("password", None)
        if password is not None:
            params["password"] = password
        return make_conninfo("", **params)
    scheme, _, hosts, path, query = _libpq_pieces(url)
    login = quote(user, safe="") + (":" + quote(password, safe="") if password else "")
    return _unsplit(scheme, f"{login}@{hosts}", path, _without(query, {"user", "password"}))


def _unsplit(scheme: str, netloc: str, path: str, query: str) -> str:
    """A URL from its parts; unlike ``urlunsplit``, keeps the ``//`` of an empty host."""
    return f"{scheme}://{netloc}{path}" + (f"?{query}" if query else "")


def dbname_of(database: str) -> str:
    """A database name, given the name or a connection string that names it."""
    if "://" in database or "=" in database:
        return str(conninfo_to_dict(database).get("dbname", ""))
    return database
