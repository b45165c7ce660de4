"""Worker logs carry no progress bars and no library's stderr as WARNING lines: the hub's, datasets',
transformers' and tqdm's bars are off in worker processes, and Celery logs redirected output at INFO."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.pure


def test_a_worker_process_draws_no_progress_bar_and_logs_stderr_at_info():
    # a fresh interpreter: the variables must be in place before the libraries read them at import
    probe = """
import os
for name in ("HF_HUB_DISABLE_PROGRESS_BARS", "HF_DATASETS_DISABLE_PROGRESS_BARS", "TQDM_DISABLE"):
    os.environ.pop(name, None)
from workers.celery_app import celery_app
import datasets, huggingface_hub, tqdm
from transformers.utils import logging as tlog
print(celery_app.conf.worker_redirect_stdouts_level)
print(huggingface_hub.utils.are_progress_bars_disabled())
print(datasets.is_progress_bar_enabled())
print(tlog.is_progress_bar_enabled())
print(tqdm.tqdm(range(3)).disable)
"""
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["INFO", "True", "False", "False", "True"], out.stdout
    assert "it/s" not in out.stderr and "%|" not in out.stderr  # and no bar was drawn


def test_a_user_who_wants_the_bars_keeps_them():
    probe = """
import os
os.environ["TQDM_DISABLE"] = "0"
os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "0"
import workers.celery_app
from huggingface_hub.utils import are_progress_bars_disabled
print(os.environ["TQDM_DISABLE"], are_progress_bars_disabled())
"""
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["0", "False"], out.stdout
