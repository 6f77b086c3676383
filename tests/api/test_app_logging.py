"""On Lambda the app's logger lets the handlers' info and warning lines through (Chalice keeps
it at ERROR there); anywhere else it is left as Chalice sets it, so a command that prints
JSON on stdout never gets log lines mixed in."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

REPO_TOP = Path(__file__).resolve().parents[2]


def logger_level(**environment: str) -> int:
    probe = "import app; print(app.app.log.level)"
    env = {k: v for k, v in os.environ.items() if k != "AWS_LAMBDA_FUNCTION_NAME"} | environment
    answer = subprocess.run([sys.executable, "-c", probe], cwd=REPO_TOP, env=env, capture_output=True,
                            text=True, timeout=60, check=True)
    return int(answer.stdout.strip().splitlines()[-1])


def test_on_lambda_the_handlers_warnings_reach_the_functions_log() -> None:
    assert logger_level(AWS_LAMBDA_FUNCTION_NAME="containerops-dev-task_stopped") == logging.INFO


def test_elsewhere_the_app_logger_is_left_as_chalice_sets_it() -> None:
    assert logger_level() == logging.ERROR
