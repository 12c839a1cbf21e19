"""The documentation builds without a warning, and its CLI usage block is current."""

import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_sphinx_build_has_no_warnings(tmp_path):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b",
                             "html", str(ROOT / "docs"), str(tmp_path)], env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    assert (tmp_path / "bad_input.html").exists() and (tmp_path / "api.html").exists()


def test_cli_reference_shows_the_current_usage():
    from dgkeras.cli import build_parser

    parser = build_parser()
    fit = next(a for a in parser._subparsers._group_actions[0].choices.items()
               if a[0] == "fit")[1]
    documented = (ROOT / "docs" / "cli.rst").read_text()
    usage = " ".join(fit.format_usage().split())
    shown = " ".join(documented[documented.index("usage: dgkeras fit"):].split())
    assert shown.startswith(usage)
