"""Secrets stay out of logs: log lines and their tracebacks are redacted, and a failed SQL statement's
message (what a 500 logs) names no parameters (password hashes, encrypted keys, token hashes)."""

from __future__ import annotations

import logging
import sys

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from backend.core.db import session_scope
from backend.core.logging import RedactingFilter


def test_log_lines_and_their_tracebacks_carry_no_secrets():
    try:
        raise RuntimeError(
            "INSERT ... [parameters: ('$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA', 'sk-abcdefgh12')]"
        )
    except RuntimeError:
        record = logging.LogRecord(
            "t", logging.ERROR, __file__, 1, "failed %s", ("Bearer dst_abcdefgh123",), None
        )
        record.exc_info = sys.exc_info()
    RedactingFilter().filter(record)
    text = logging.Formatter().format(record)
    assert "argon2id$v" not in text and "sk-abcdefgh12" not in text and "dst_abcdefgh123" not in text, text
    assert text.count("[REDACTED]") >= 3


def test_a_failed_statement_names_no_parameters():
    with pytest.raises(DBAPIError) as info, session_scope() as s:
        s.execute(text("SELECT CAST(:v AS text), 1 / 0"), {"v": "encrypted-teacher-key"})
    assert "encrypted-teacher-key" not in str(info.value)
