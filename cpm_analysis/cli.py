"""The ``cpm`` command.

Exit codes: 0 success, 1 a step failed while running, 2 bad arguments or unusable data. Data
and argument errors are printed in one or two lines, never as a traceback. No message or log line
shows a database password: each goes through :func:`cpm_analysis.credentials.redact_text`.

Examples
--------
$ cpm validate data/sample
$ cpm validate data/sample --config cpm.yaml
$ cpm sample --customers 5000 --seed 1 --out /tmp/company
$ cpm report --period 2024-06 --out reports/
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

import click

from cpm_analysis.config import ConfigError, load_config
from cpm_analysis.credentials import expand_reference, redact_text
from cpm_analysis.data import load, sample_dir
from cpm_analysis.exceptions import DataValidationError, PeriodError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def fail(message: str, code: int = EXIT_USAGE) -> None:
    """Print ``message`` (credentials redacted) to stderr as ``error: ...``; exit with ``code``."""
    click.echo(f"error: {redact_text(str(message))}", err=True)
    sys.exit(code)


class RedactingFilter(logging.Filter):
    """Redact credentials in every log record (message and arguments) before it is shown.

    Examples
    --------
    >>> record = logging.LogRecord("x", 20, "", 0, "data %s", ("sqlite://u:pw99@h/db",), None)
    >>> RedactingFilter().filter(record) and record.getMessage()
    'data sqlite://u:***@h/db'
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Replace the record's message by its redacted text; keep every record (``True``)."""
        record.msg = redact_text(record.getMessage())
        record.args = None
        return True


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cpm-analysis")
def main() -> None:
    """Manage customer performance: validate data, generate samples, render reports.

    Every command reads the bundled synthetic sample (data/sample) unless told otherwise.
    Exit codes: 0 success, 1 a step failed, 2 bad arguments or unusable data.
    """


@main.command()
@click.argument("source", required=False)
@click.option(
    "--mapping",
    type=click.Path(exists=True, dir_okay=False),
    help="YAML/JSON file mapping your column names onto the canonical ones.",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Business rules file (cpm.yaml or cpm.toml) to check too.  [default: the data "
    "folder's cpm.yaml/cpm.toml, if any]",
)
def validate(source: str | None, mapping: str | None, config_file: str | None) -> None:
    """Check a data source against the data contract.

    SOURCE is a folder of CSV/Parquet files (one per table), a SQLAlchemy database URL such as
    sqlite:///crm.db, '$NAME' for a URL held in the environment variable NAME (keeps a password
    off the command line), or a folder with the CDNOW files; default data/sample. Prints row
    counts, date ranges and rejected rows per reason (the URL's password is never shown); exits
    0 when the data is usable, 2 when not. The business rules file (--config, else cpm.yaml or
    cpm.toml in the data folder) is validated first; an invalid one exits 2 with one line.
    """
    source = source or str(sample_dir())
    folder = Path(source).expanduser()
    try:
        config = load_config(config_file, folder if folder.is_dir() else None)
    except ConfigError as err:
        fail(f"--config: {err}")
    try:
        ds = load(expand_reference(source, "source"), mapping=mapping)
    except DataValidationError as err:
        partial = getattr(err, "dataset", None)
        if partial is not None:  # validated, but not usable: show what was found, and why not
            _print_summary(partial)
            click.echo("usable: no")
            for reason in getattr(err, "problems", []):
                click.echo(f"  {reason}")
        fail(str(err))
    except ValueError as err:
        fail(str(err))
    _print_summary(ds)
    if config.source == "defaults":
        click.echo("config: the defaults (no cpm.yaml or cpm.toml in the data folder)")
    else:
        click.echo(f"config: {config.source} is valid")
    click.echo("usable: yes")


def _print_summary(ds: Any) -> None:
    """Print the per-table counts, what was derived, and the rejected rows by reason."""
    summary = ds.summary()
    click.echo(f"source: {ds.source}")
    click.echo(f"{'table':<12} {'rows':>10} {'rejected':>9}  {'first':<10}  {'last':<10}")
    for table, row in summary.iterrows():
        if not row["present"]:
            click.echo(f"{table:<12} {'absent':>10}")
            continue
        first = "" if row["first"] is None or str(row["first"]) == "NaT" else str(row["first"])[:10]
        last = "" if row["last"] is None or str(row["last"]) == "NaT" else str(row["last"])[:10]
        click.echo(f"{table:<12} {row['rows']:>10,} {row['rejected']:>9,}  {first:<10}  {last:<10}")
    for table, origin in getattr(ds, "derived", {}).items():
        how = {
            "customers": "one row per customer id, signup_date the first order, attributes "
            "the most frequent value",
            "orders": "the lines of each order summed",
            "staff": "the account owners, role sales",
        }.get(table, "")
        click.echo(f"{table} derived from {origin}" + (f" ({how})" if how else ""))
    others = ds.rejected.loc[~ds.rejected["table"].isin(summary.index)]
    for table, count in others.groupby("table").size().items():
        click.echo(f"{table:<12} {'applied':>10} {count:>9,}")
    if len(ds.rejected):
        click.echo("\nrejected rows by reason:")
        counts = ds.rejected.groupby(["table", "reason"]).size()
        for (table, reason), count in counts.items():
            click.echo(f"  {table}: {reason}: {count:,}")
    else:
        click.echo("\nno rejected rows")
    absent = [t for t, row in summary.iterrows() if not row["present"] and t != "order_lines"]
    if absent:
        click.echo(f"absent tables (the analyses that need them are skipped): {', '.join(absent)}")


@main.command()
@click.option(
    "--customers",
    "n_customers",
    type=click.IntRange(min=10),
    default=3000,
    show_default=True,
    help="Number of customers.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    required=True,
    help="Folder to write one file per table into.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "parquet"]),
    default="csv",
    show_default=True,
    help="File format.",
)
@click.option("--start", default="2022-01-01", show_default=True, help="First day of the data.")
@click.option("--end", default="2025-12-31", show_default=True, help="Last day of the data.")
@click.option(
    "--faults",
    type=click.FloatRange(0, 0.5),
    default=0.0,
    show_default=True,
    help="Share of rows given faults that validation must quarantine.",
)
def sample(
    n_customers: int, seed: int, out_dir: str, fmt: str, start: str, end: str, faults: float
) -> None:
    """Write a synthetic company (customers, orders, tickets, surveys, staff, targets, ...).

    The data is drawn from known BG/NBD and Gamma-Gamma parameters, with realistic but fake
    personal data. The bundled sample is `cpm sample --customers 3000 --seed 2024
    --faults 0.002 --out data/sample`.
    """
    from cpm_analysis.synthetic import generate

    try:
        data = generate(n_customers, seed=seed, start=start, end=end, faults=faults)
    except (ValueError, PeriodError) as err:
        fail(str(err))
    path = data.write(Path(out_dir), format=fmt)
    sizes = ", ".join(f"{name} {len(frame):,}" for name, frame in data.tables.items())
    click.echo(f"wrote {path}: {sizes}")


@main.command()
@click.option(
    "--data",
    default=None,
    metavar="SOURCE",
    help="Folder of CSV/Parquet files or database URL.  [default: data/sample]",
)
@click.option(
    "--period",
    default=None,
    help="2024-06 (month), 2024-Q2 (quarter), 2024 (year) or latest.  [default: latest]",
)
@click.option("--from", "start", default=None, metavar="PERIOD", help="Backfill from this period.")
@click.option(
    "--to",
    "end",
    default=None,
    metavar="PERIOD",
    help="Backfill up to this period [default: latest].",
)
@click.option(
    "--freq",
    type=click.Choice(["monthly", "quarterly", "yearly"]),
    default=None,
    help="Frequency of 'latest' [default: monthly]; an explicit period carries its own.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default="reports",
    show_default=True,
    help="Output folder: <out>/<period>/ and <out>/index.html.",
)
@click.option(
    "--only",
    multiple=True,
    metavar="NAME",
    help="Run only this notebook (01_data_quality or data_quality); repeat or comma-separate.",
)
@click.option(
    "--pii",
    type=click.Choice(["mask", "show"]),
    default="mask",
    show_default=True,
    help="mask: no names, e-mails or phones, pseudonymous ids; show: internal use only.",
)
@click.option(
    "--per-owner",
    is_flag=True,
    help="Also write the owner book (owner_book.ipynb, one page) of each account owner, holding "
    "only that owner's customers, into <period>/owners/<owner>/.",
)
@click.option(
    "--notebooks",
    type=click.Path(file_okay=False),
    default=None,
    help="Notebooks folder.  [default: $CPM_NOTEBOOKS_DIR or <project>/notebooks]",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of every random step.")
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=min(2, os.cpu_count() or 1),
    show_default="2, or 1 on a single core",
    help="Notebooks executed at the same time (one warm kernel each, kept for the run).",
)
@click.option(
    "--engine",
    type=click.Choice(["pandas", "dask"]),
    default="pandas",
    show_default=True,
    help="dask: validate and run the transaction-heavy stages (RFM, lifetime value, KPIs) on a "
    'Dask cluster (pip install "cpm-analysis[scale]").',
)
@click.option(
    "--scheduler",
    default=None,
    metavar="ADDRESS",
    help="With --engine dask: a running scheduler (tcp://host:8786 or a scheduler file); "
    "default a local cluster sized to this machine.",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Business rules file (YAML or TOML, see docs/configuration.md).  [default: cpm.yaml "
    "or cpm.toml in the data folder, else the defaults]",
)
@click.option(
    "--lang",
    default=None,
    metavar="LANG",
    help="Language of the reports: en or zh (a region may follow: en-GB, zh-CN).  [default: the "
    "configuration's locale, else en]",
)
@click.option(
    "--holdout",
    default=None,
    metavar="SHARE",
    help="Hold a seeded random share (10%) of each period's customer action list out of "
    "contact, so the next report measures the effect of contact as an experiment.",
)
@click.option(
    "--export-identified",
    is_flag=True,
    help="Write real customer ids into care_campaign.csv/.jsonl for the CRM (default: "
    "pseudonyms only). The files then hold personal identifiers: keep them internal.",
)
@click.option(
    "--pdf",
    is_flag=True,
    help="Also write <period>/report.pdf from the same pages, printed by headless Chromium "
    "(chromium on PATH or $CPM_CHROMIUM; refused when there is none).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no step log; errors only.")
def report(
    data: str | None,
    period: str | None,
    start: str | None,
    end: str | None,
    freq: str | None,
    out_dir: str,
    only: tuple[str, ...],
    pii: str,
    per_owner: bool,
    notebooks: str | None,
    seed: int,
    jobs: int,
    engine: str,
    scheduler: str | None,
    config_file: str | None,
    lang: str | None,
    holdout: str | None,
    export_identified: bool,
    pdf: bool,
    quiet: bool,
) -> None:
    """Render the periodic reports: notebooks -> reports/<period>/*.html and reports/index.html.

    Each numbered notebook (notebooks/NN_*.ipynb) is executed with papermill for the period and
    exported to HTML that opens offline, next to the executed notebooks,
    customers_scored.parquet/.csv, rejected_rows.csv and metrics.json. A period is replaced only
    when all of it succeeded; a failed attempt is kept in <out>/_failed/<period>/.
    `cpm report --from 2024-01 --to 2024-06` backfills a range. With --engine dask the data is
    validated on a Dask cluster into <out>/.store and the scoring's RFM, lifetime-value and KPI
    stages run there (--scheduler ADDRESS for a running cluster, else a local one).

    Business rules (SLA hours, scorecard KPIs and weights, the assessment blend, the ranking
    rules, horizons, tiers, the segment map, currency, locale) come from --config FILE, else
    cpm.yaml or cpm.toml in the data folder, else the defaults; metrics.json records them.
    --lang zh renders the pages that have moved to the message catalogues, and the index, in
    Chinese (default: the configuration's locale).

    --data '$NAME' reads a database URL from the environment variable NAME, so that its password
    is on no command line; the password is shown nowhere (pages, notebooks, logs, errors).

    The output folder belongs to the report: cpm report claims only a new or empty folder and
    records what it writes in <out>/.cpm-report.json; it replaces or deletes nothing else, and
    refuses a folder it did not write, or one that holds the data.

    Personal data: with --pii mask (the default) no name, e-mail or phone appears in any HTML or
    CSV, and customer ids are shown as pseudonyms keyed by $CPM_PSEUDONYM_KEY or, when unset,
    by <out>/.pseudonym_key (created once; keep it private).

    Action tracking: each period publishes its customer action list as care_campaign.csv and
    .jsonl (pseudonymised; --export-identified adds the real ids for the CRM, which makes the
    files personal data). --holdout 10% holds a seeded random share of the list out of contact;
    the next period's performance review compares contacted and held-out customers.

    Exit codes: 0 success; 1 a step failed while running (the message names notebook, cell
    and error) or the disk filled up; 2 bad arguments or data, an output folder that is not the
    report's or cannot be written, or another run holds the output folder.
    """
    # jsonschema imports rfc3987_syntax, an optional checker of IRI formats that builds a parser
    # grammar for 3-4 s, whenever nbformat is imported; no notebook schema has an IRI format, so
    # the report command goes without it.
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
    from cpm_analysis.report.lock import ReportLockedError
    from cpm_analysis.report.manifest import OutputFolderError
    from cpm_analysis.report.runner import ReportArgumentError, run_report

    package_log = logging.getLogger("cpm_analysis")
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("cpm report: %(message)s"))
    package_log.handlers = [handler]
    package_log.setLevel(logging.WARNING if quiet else logging.INFO)
    package_log.propagate = False
    try:
        outcome = run_report(
            data=data,
            period=period,
            start=start,
            end=end,
            freq=freq,
            out=out_dir,
            only=only,
            pii=pii,
            per_owner=per_owner,
            notebooks=notebooks,
            seed=seed,
            jobs=jobs,
            progress=not quiet,
            engine=engine,
            scheduler=scheduler,
            config=config_file,
            lang=lang,
            holdout=holdout,
            export_identified=export_identified,
            pdf=pdf,
        )
    except (
        DataValidationError,
        PeriodError,
        ReportArgumentError,
        ReportLockedError,
        OutputFolderError,
    ) as err:
        fail(str(err))
    except OSError as err:  # the output folder became unwritable or the disk filled up
        where = f": '{err.filename}'" if err.filename else ""
        fail(f"cannot write the report ({err.strerror or err}{where})", EXIT_FAILED)
    failed = outcome.failed
    published = [p.label for p in outcome.periods if p.ok]
    if published:
        click.echo(f"published {', '.join(published)} in {Path(out_dir)}; index {outcome.index}")
    if failed:
        fail(
            f"{len(failed)} of {len(outcome.periods)} period(s) failed: "
            + "; ".join(f"{p.label}: {p.error}" for p in failed),
            EXIT_FAILED,
        )
    if outcome.owner_failures:
        fail(
            f"{len(outcome.owner_failures)} owner book(s) failed (the company report was "
            "published): " + "; ".join(outcome.owner_failures),
            EXIT_FAILED,
        )


if __name__ == "__main__":  # pragma: no cover
    main()
