"""Database URLs that cannot be parsed, or that parse otherwise than they look, never put
their password into a message, a report or a page: only their host, or nothing.

Every command that takes a URL is run, as the real console script, with each malformed
secret-bearing URL; the secret is the text ``SECRET``, placed where a password would be.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from migdocs.pg import redact_url
from runner_kit import run

FIXTURES = Path(__file__).parent / "fixtures"
_SCRIPT = shutil.which("migdocs", path=str(Path(sys.executable).parent)) or shutil.which("migdocs")
MIGDOCS = [_SCRIPT] if _SCRIPT else [sys.executable, "-m", "migdocs"]

#: (URL, the host a message may name, or None when no host can be told apart from the secret).
#: ``.invalid`` never resolves (RFC 2606), so a URL that does parse fails fast at connect.
MALFORMED = [
    # libpq refuses these; its own message quotes the offending token, or the whole URL.
    ("postgresql://u:p%zzSECRET@db.invalid/app", "db.invalid"),
    ("postgresql://u@db.invalid/app?password=SECRET%zz", "db.invalid"),
    ("postgresql://u@db.invalid/app?sslpassword=SECRET%zz", "db.invalid"),
    ("postgresql://u:SECRET@db.invalid/app?options=%zz", "db.invalid"),
    ("postgresql://u:SECRET@db.invalid/app?bogus=1", "db.invalid"),
    ("postgresql://u:SECRET@[::1/app", None),
    ("postgresql://u:SECRET@h1.invalid:5432,[::1/app", None),
    (
        "postgresql://u:p%zzSECRET@h1.invalid:5432,h2.invalid:5433/app",
        "h1.invalid:5432,h2.invalid:5433",
    ),
    ("postgresql://u@db.invalid/app?password=SE@CRET/x%zz", None),
    ("host=db.invalid password=SECRET dbname", "db.invalid"),
    ("host=db.invalid password='SECRET", "db.invalid"),
    ("host=db.invalid passwordSECRET=x", "db.invalid"),
    # libpq parses these, but not as a URL splitter would: the password is everything up to
    # the first "@", "?" and "#" included; a "/" in it makes the rest a host and a path.
    ("postgresql://u:pa/SECRET@db.invalid/app", "db.invalid"),
]
#: URLs libpq parses as they read, which fail only at connect: shown redacted.
PARSED = [
    ("postgresql://u:SECRET?x@db.invalid/app", "postgresql://u@db.invalid/app"),
    ("postgresql://u:SECRET#x@db.invalid/app", "postgresql://u@db.invalid/app"),
    (
        "postgresql://u:SECRET@db.invalid/app?password=SECRET&sslpassword=SECRET",
        "postgresql://u@db.invalid/app",
    ),
    ("postgresql://u:SECRET@[::1]:1,db.invalid/app", "postgresql://u@[::1]:1,db.invalid/app"),
    ("postgresql://SECRET:SECRET@db.invalid/app", "postgresql://***@db.invalid/app"),
]


@pytest.mark.parametrize(("url", "host"), MALFORMED)
def test_redact_url_names_only_the_host(url: str, host: str | None) -> None:
    redacted = redact_url(url)
    # Not even a piece of it.
    assert not any("SECRET"[i : i + 3] in redacted for i in range(4)), redacted
    if host is None:
        assert redacted == "<unparseable URL>"
    else:
        assert host in redacted


def _environment(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("CI", "MIGDOCS_DEBUG", "MIGDOCS_DATABASE_URL", "MIGDOCS_SCRATCH_URL")
    }
    return {**env, **extra}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("project")
    shutil.copytree(FIXTURES / "good", root, dirs_exist_ok=True)
    return root


def _commands(url: str, root: Path) -> list[tuple[list[str], dict[str, str], Path | None]]:
    """Each way a URL reaches migdocs: the arguments, extra environment, the --output file."""
    urls_file = root / "urls.txt"
    urls_file.write_text("# the fleet\n" + url + "\n", encoding="utf-8")
    report = root / "report.json"
    return [
        (["audit", "--database-url", url, "--format", "json", "--output", str(report)], {}, report),
        (["audit", "--database-urls", str(urls_file)], {}, None),
        (["audit", "--format", "sarif"], {"MIGDOCS_DATABASE_URL": url}, None),
        (["verify", "--scratch-url", url, "--output", str(report)], {}, report),
        (["audit", "--scratch-url", url], {}, None),
        (["build", "--audit", "--database-url", url], {}, None),
    ]


@pytest.mark.parametrize(("url", "redacted"), PARSED)
def test_redact_url_splits_as_libpq_does(url: str, redacted: str) -> None:
    assert redact_url(url) == redacted


@pytest.mark.parametrize(
    ("url", "host", "refused"),
    [*((url, host, True) for url, host in MALFORMED), *((url, None, False) for url, _ in PARSED)],
)
def test_no_command_prints_a_secret_of_a_malformed_url(
    url: str, host: str | None, refused: bool, project: Path
) -> None:
    """Refused before any connection, naming where the URL was given; or, for one libpq
    reads as it looks, a connection that fails and says so without the password."""
    for args, env, output in _commands(url, project):
        if output is not None:
            output.unlink(missing_ok=True)
        done = run([*MIGDOCS, *args], cwd=project, env=_environment(**env), timeout=60)
        said = f"{args} {env}: {done.stderr}"
        assert done.returncode == 2, said
        # One line of error (after any warning, such as that of a password on the command
        # line), and nothing else.
        lines = done.stderr.splitlines()
        assert [line for line in lines if not line.startswith("migdocs: warning: ")] == [
            lines[-1]
        ], said
        assert lines[-1].startswith("migdocs: error: "), said
        assert "Traceback" not in done.stderr, said
        assert "SECRET" not in done.stdout + done.stderr, said
        if host is not None:
            assert host in done.stderr, said
        if refused and "--database-urls" in args:
            assert "urls.txt:2: " in done.stderr, said
        elif refused and env:
            assert "MIGDOCS_DATABASE_URL: " in done.stderr, said
        if output is not None and output.exists():
            assert "SECRET" not in output.read_text(encoding="utf-8")
