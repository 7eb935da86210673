"""The ``cpm`` command.

Exit codes: 0 success, 1 a step failed while running, 2 bad arguments or unusable data. Data
and argument errors are printed in one or two lines, never as a traceback.

Examples
--------
$ cpm validate data/sample
$ cpm sample --customers 5000 --seed 1 --out /tmp/company
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cpm_analysis.data import load, sample_dir
from cpm_analysis.exceptions import DataValidationError, PeriodError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def fail(message: str, code: int = EXIT_USAGE) -> None:
    """Print ``message`` to stderr as ``error: ...`` and exit with ``code``."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cpm-analysis")
def main() -> None:
    """Customer performance management: validate data, generate samples, render reports.

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
def validate(source: str | None, mapping: str | None) -> None:
    """Check a data source against the data contract.

    SOURCE is a folder of CSV/Parquet files (one per table), a SQLAlchemy database URL such as
    sqlite:///crm.db, or a folder with the CDNOW files; default data/sample. Prints row counts,
    date ranges and rejected rows per reason; exits 0 when the data is usable, 2 when not.
    """
    source = source or str(sample_dir())
    try:
        ds = load(source, mapping=mapping)
    except DataValidationError as err:
        fail(str(err))
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
    if len(ds.rejected):
        click.echo("\nrejected rows by reason:")
        counts = ds.rejected.groupby(["table", "reason"]).size()
        for (table, reason), count in counts.items():
            click.echo(f"  {table}: {reason}: {count:,}")
    else:
        click.echo("\nno rejected rows")
    absent = [t for t, row in summary.iterrows() if not row["present"]]
    if absent:
        click.echo(f"absent tables (the analyses that need them are skipped): {', '.join(absent)}")
    click.echo("usable: yes")


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


if __name__ == "__main__":  # pragma: no cover
    main()
