"""Credentials never leave the process (issue 12, part 1).

The redaction rules on their own, then a real PostgreSQL server that the tests start (Debian's
``postgresql`` package; skipped, with the reason, only where it cannot start): the loader,
``cpm validate`` and ``cpm report`` read from it with a password in the URL's user part, in its
query string, through ``$CPM_DATA_URL`` and through ``PGPASSWORD``, and every file written under
``--out`` is searched for the password and for the URL.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import nbformat
import numpy as np
import pytest
from click.testing import CliRunner
from sqlalchemy.engine import make_url

from cpm_analysis import credentials, privacy
from cpm_analysis.cli import main
from cpm_analysis.credentials import DATA_URL_ENV, redact_text, redact_url, url_secrets
from cpm_analysis.data import load
from cpm_analysis.exceptions import DataValidationError
from cpm_analysis.report import params
from cpm_analysis.synthetic import generate

PERIOD = "2025-12"
SECRET = "Hunter2-Vault-77"
FORMS = (SECRET, quote(SECRET, safe=""))


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch):
    monkeypatch.delenv(privacy.KEY_ENV, raising=False)
    monkeypatch.delenv(DATA_URL_ENV, raising=False)
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.delenv("CPM_NOTEBOOKS_DIR", raising=False)


# --- the redaction rules ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql+psycopg2://cpm:S3cretPw@host/crm", "postgresql+psycopg2://cpm:***@host/crm"),
        ("postgresql://cpm:P@ssw0rd@host:5432/crm", "postgresql://cpm:***@host:5432/crm"),
        ("postgresql://cpm:S3cret/Pw@host/crm", "postgresql://cpm:***@host/crm"),
        ("postgresql://cpm:S3cret%2FPw%409@h/db", "postgresql://cpm:***@h/db"),
        (
            "postgresql://cpm@h/db?sslmode=require&password=x%26y&sslpassword=z",
            "postgresql://cpm@h/db?sslmode=require&password=***&sslpassword=***",
        ),
        ("mssql+pyodbc://u@dsn?odbc_connect=x&Token=abc", "mssql+pyodbc://u@dsn?odbc_connect=x&Token=***"),
        ("sqlite:////srv/a@b/crm.db", "sqlite:////srv/a@b/crm.db"),
        ("postgresql://cpm@host/crm", "postgresql://cpm@host/crm"),
        ("/srv/exports/crm", "/srv/exports/crm"),
    ],
)  # fmt: skip
def test_redact_url_hides_the_password_wherever_it_sits(url, shown):
    assert redact_url(url) == shown
    for secret in url_secrets(url):
        assert secret not in redact_url(url)


@pytest.mark.parametrize(
    "url",
    ["postgresql+psycopg2://cpm:S3cretPw@host:5432/crm", "mysql://u:p4ss@db/x", "sqlite:///a.db"],
)
def test_redact_url_agrees_with_sqlalchemy_on_ordinary_urls(url):
    assert redact_url(url) == make_url(url).render_as_string(hide_password=True)


def test_redact_text_removes_known_secrets_urls_and_password_pairs(monkeypatch):
    credentials.remember_url(f"postgresql://cpm:{SECRET}@db/crm")
    monkeypatch.setenv("PGPASSWORD", "Env-Pg-Password-1")
    text = redact_text(
        f"failed: {SECRET}; also Env-Pg-Password-1; dsn host=db password=abc123 "
        "and mysql://root:toor99@db/x"
    )
    assert SECRET not in text and "Env-Pg-Password-1" not in text
    assert "abc123" not in text and "toor99" not in text
    assert "mysql://root:***@db/x" in text


def test_a_data_reference_reads_the_environment_and_names_a_missing_variable(monkeypatch):
    monkeypatch.setenv("CPM_TEST_URL", "sqlite:///crm.db")
    assert params.resolve_data_source("$CPM_TEST_URL") == "sqlite:///crm.db"
    assert params.resolve_data_source("${CPM_TEST_URL}") == "sqlite:///crm.db"
    monkeypatch.delenv("CPM_TEST_URL")
    with pytest.raises(DataValidationError, match="environment variable CPM_TEST_URL is not set"):
        params.resolve_data_source("$CPM_TEST_URL")


def test_loader_errors_never_echo_a_password(tmp_path):
    database = tmp_path / "crm.db"
    database.write_bytes(b"")
    with pytest.raises(DataValidationError) as caught:  # an empty database: no customers table
        load(f"sqlite:///{database}?password={SECRET}")
    assert "?password=***" in str(caught.value) and SECRET not in str(caught.value)
    with pytest.raises(DataValidationError) as caught:
        load(f"postgresql://cpm:{SECRET}@host:notaport/crm")
    assert "cannot use the URL" in str(caught.value)
    assert SECRET not in str(caught.value) and "cpm:***@" in str(caught.value)


def test_cpm_validate_never_echoes_a_password_from_the_url():
    for url in (
        f"postgresql://cpm:{SECRET}@host:notaport/crm",
        f"postgresql://cpm@host:notaport/crm?password={SECRET}",
    ):
        result = CliRunner().invoke(main, ["validate", url])
        assert result.exit_code == 2, result.output
        assert (
            result.output.startswith("error: database: ") and len(result.output.splitlines()) == 1
        )
        assert SECRET not in result.output


def test_the_summary_shows_the_redacted_source():
    from cpm_analysis.report.params import display_source

    assert display_source(f"postgresql://cpm:{SECRET}@db/crm") == "postgresql://cpm:***@db/crm"


# --- a real PostgreSQL server ------------------------------------------------------------------


@pytest.fixture(scope="module")
def postgres():
    """A PostgreSQL server holding a 400-customer company (two owners), role cpm with a password."""
    sys.path.insert(0, str(Path(__file__).parent))
    import pg_server

    try:
        server = pg_server.start()
    except pg_server.ServerUnavailable as err:
        pytest.skip(f"PostgreSQL server could not start: {err}")
    try:
        import sqlalchemy as sa

        data = generate(400, seed=21, faults=0.01)
        customers = data.tables["customers"]
        customers["owner_id"] = np.where(np.arange(len(customers)) % 3 == 0, "S002", "S001")
        engine = sa.create_engine(server.url())
        with engine.begin() as conn:
            for name, frame in data.tables.items():
                frame.to_sql(name, conn, index=False)
        engine.dispose()
        yield server, data
    finally:
        server.stop()


def _password_forms() -> tuple[str, ...]:
    import pg_server

    return (pg_server.PASSWORD, quote(pg_server.PASSWORD, safe=""), quote(pg_server.PASSWORD))


def _assert_no_secret_in(text: str, where: str, *extra: str) -> None:
    for secret in (*_password_forms(), *extra):
        assert secret not in text, f"the password (or URL) {secret!r} is in {where}"


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if k not in (privacy.KEY_ENV, DATA_URL_ENV)}
    full.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "cpm_analysis.cli", *args],
        capture_output=True,
        text=True,
        env=full,
        timeout=900,
        check=False,
    )


def test_loader_reads_postgres_and_shows_only_the_redacted_url(postgres):
    server, data = postgres
    for url in (server.url(), server.url(in_query=True)):
        dataset = load(url)
        assert len(dataset.customers) + (dataset.rejected["table"] == "customers").sum() == len(
            data.tables["customers"]
        )
        assert len(dataset.orders) > 1000
        _assert_no_secret_in(dataset.source, "Dataset.source")
        assert "***" in dataset.source and f"127.0.0.1:{server.port}/crm" in dataset.source


def test_loader_reads_postgres_with_the_password_in_pgpassword(postgres, monkeypatch):
    import pg_server

    server, _ = postgres
    monkeypatch.setenv("PGPASSWORD", pg_server.PASSWORD)
    dataset = load(server.url(password=None))
    assert len(dataset.orders) > 1000 and "***" not in dataset.source


def test_a_wrong_password_fails_in_one_line_without_echoing_it(postgres):
    server, _ = postgres
    wrong = "Wr0ng-Guess-Pw-55"
    with pytest.raises(DataValidationError) as caught:
        load(server.url(password=wrong))
    message = str(caught.value)
    assert "password authentication failed" in message and "cpm:***@" in message
    assert wrong not in message and quote(wrong, safe="") not in message


def test_cpm_validate_from_postgres_in_every_form(postgres):
    import pg_server

    server, _ = postgres
    runs = [
        _cli("validate", server.url()),
        _cli("validate", server.url(in_query=True)),
        _cli("validate", "$CPM_DATA_URL", env={DATA_URL_ENV: server.url()}),
        _cli("validate", server.url(password=None), env={"PGPASSWORD": pg_server.PASSWORD}),
    ]
    for proc in runs:
        assert proc.returncode == 0, proc.stderr
        assert "usable: yes" in proc.stdout and "source: postgresql+psycopg2://cpm" in proc.stdout
        _assert_no_secret_in(proc.stdout + proc.stderr, "cpm validate's output", server.url())
    failed = _cli("validate", server.url().replace("/crm", "/nosuchdb"))
    assert failed.returncode == 2 and len(failed.stderr.strip().splitlines()) == 1
    assert 'database "nosuchdb" does not exist' in failed.stderr
    _assert_no_secret_in(failed.stderr, "cpm validate's error")


def _every_file(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*") if p.is_file())


def _assert_out_holds_no_secret(out: Path, url: str) -> int:
    files = _every_file(out)
    for path in files:
        text = path.read_bytes().decode("utf-8", errors="replace")
        _assert_no_secret_in(text, str(path.relative_to(out)), url)
    return len(files)


def _check_notebook_parameters(notebook: Path) -> None:
    nb = nbformat.read(notebook, as_version=4)
    injected = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert 'data = "$CPM_DATA_URL"' in injected.source
    assert nb.metadata["papermill"]["parameters"]["data"] == "$CPM_DATA_URL"
    assert nb.metadata["papermill"].get("environment_variables", {}) == {}


def test_cpm_report_from_postgres_writes_no_password_anywhere(postgres, tmp_path):
    server, _ = postgres
    out = tmp_path / "reports"
    url = server.url()
    proc = _cli(
        "report", "--data", url, "--period", PERIOD, "--out", str(out), "--only",
        "01_data_quality", "--jobs", "1",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    _assert_no_secret_in(proc.stdout + proc.stderr, "the log", url)
    assert _assert_out_holds_no_secret(out, url) >= 8
    _check_notebook_parameters(out / PERIOD / "01_data_quality.ipynb")
    page = (out / PERIOD / "01_data_quality.html").read_text()
    assert f"postgresql+psycopg2://cpm:***@127.0.0.1:{server.port}/crm" in page
    data = json.loads((out / PERIOD / "metrics.json").read_text())
    assert data["parameters"]["data"] == redact_url(url)


@pytest.mark.slow
def test_a_full_report_from_postgres_by_reference_and_query_password(postgres, tmp_path):
    """The first and the last periodic notebook, per owner too; the URL through
    $CPM_DATA_URL, its password in the query string."""
    server, _ = postgres
    out = tmp_path / "reports"
    url = server.url(in_query=True)
    proc = _cli(
        "report", "--data", "$CPM_DATA_URL", "--period", PERIOD, "--out", str(out),
        "--per-owner", "--only", "01_data_quality,05_performance_review",
        env={DATA_URL_ENV: url},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    _assert_no_secret_in(proc.stdout + proc.stderr, "the log", url)
    assert _assert_out_holds_no_secret(out, url) >= 20
    for notebook in out.rglob("*.ipynb"):
        _check_notebook_parameters(notebook)
    page = (out / PERIOD / "owners" / "S001" / "owner_book.html").read_text()
    assert "password=***" in page


# --- the hand-over to the kernels, without a server ---------------------------------------------

HANDOVER = (
    "import os\n"
    "print('data parameter:', data)\n"
    "print('url handed over:', os.environ['CPM_DATA_URL'].startswith('sqlite:///'))"
)


def test_the_url_reaches_the_kernel_by_environment_not_as_a_parameter(tmp_path, monkeypatch):
    import sqlalchemy as sa
    from light_period import light_build_period
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    from cpm_analysis.report import runner

    # the no-model result: this test is about the URL
    monkeypatch.setattr(runner, "build_period", light_build_period)
    database = tmp_path / "crm.db"
    engine = sa.create_engine(f"sqlite:///{database}")
    with engine.begin() as conn:
        for name, frame in generate(200, seed=3).tables.items():
            frame.to_sql(name, conn, index=False)
    engine.dispose()
    url = f"sqlite:///{database}?password={SECRET}"  # sqlite ignores it: a stand-in secret
    parameters = (
        'data: str = "data/sample"\nperiod: str = "latest"\nfreq: str = "monthly"\n'
        'out_dir: str = ""\npii: str = "mask"\nowner: str = ""\nseed: int = 0\nresult: str = ""'
    )
    nb = new_notebook(
        cells=[
            new_markdown_cell("# Hand-over"),
            new_code_cell(parameters, metadata={"tags": ["parameters"]}),
            new_code_cell(HANDOVER),
        ]
    )
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    (tmp_path / "nb").mkdir()
    nbformat.write(nb, tmp_path / "nb" / "01_handover.ipynb")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main,
        ["report", "--data", url, "--out", str(out), "--period", PERIOD,
         "--notebooks", str(tmp_path / "nb")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output and os.environ.get(DATA_URL_ENV) is None
    page = (out / PERIOD / "01_handover.html").read_text()
    assert "data parameter: $CPM_DATA_URL" in page and "url handed over: True" in page
    _check_notebook_parameters(out / PERIOD / "01_handover.ipynb")
    for path in _every_file(out):
        text = path.read_bytes().decode("utf-8", errors="replace")
        assert SECRET not in text and url not in text, path
