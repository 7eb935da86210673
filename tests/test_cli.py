"""The `cpm` command: validate and sample (the report command is tested in test_report.py)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pandas as pd
from click.testing import CliRunner

from cpm_analysis.cli import main
from cpm_analysis.data import cdnow_dir, sample_dir


def test_help_explains_every_command():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("validate", "sample"):
        assert command in result.output


def test_validate_sample_succeeds():
    result = CliRunner().invoke(main, ["validate"])
    assert result.exit_code == 0, result.output
    assert "orders" in result.output and "usable: yes" in result.output
    assert "rejected rows by reason" in result.output


def test_validate_cdnow_succeeds():
    result = CliRunner().invoke(main, ["validate", str(cdnow_dir())])
    assert result.exit_code == 0, result.output
    assert "69,659" in result.output


def test_validate_missing_column_exits_2_with_one_line(tmp_path):
    shutil.copytree(sample_dir(), tmp_path / "broken")
    orders = pd.read_csv(tmp_path / "broken" / "orders.csv")
    orders.drop(columns="amount").to_csv(tmp_path / "broken" / "orders.csv", index=False)
    # run the installed console script: the real exit code and stderr, no traceback
    proc = subprocess.run(
        [sys.executable, "-m", "cpm_analysis.cli", "validate", str(tmp_path / "broken")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "orders" in lines[0] and "'amount'" in lines[0]
    assert "Traceback" not in proc.stderr


def test_sample_writes_a_dataset(tmp_path):
    out = tmp_path / "company"
    result = CliRunner().invoke(
        main, ["sample", "--customers", "150", "--seed", "3", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert (out / "customers.csv").is_file() and (out / "orders.csv").is_file()
    again = CliRunner().invoke(main, ["validate", str(out)])
    assert again.exit_code == 0


def test_sample_rejects_bad_arguments(tmp_path):
    result = CliRunner().invoke(main, ["sample", "--customers", "2", "--out", str(tmp_path)])
    assert result.exit_code == 2
