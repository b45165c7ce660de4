"""Secrets stay out of logs: log lines and their tracebacks are redacted, and a failed SQL statement's
message (what a 500 logs) names no parameters (password hashes, encrypted keys, token hashes)."""

from __future__ import annotations

import logging
import sys

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from backend.core.db import session_scope
from backend.core.logging import RedactingFilter, redact, scrub


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


def test_a_hub_token_is_scrubbed_but_hub_words_are_not():
    text = scrub("refused hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123456 in hf_hub_download")
    assert "AbCdEf" not in text and "hf_hub_download" in text, text


def test_a_failed_statement_names_no_parameters():
    with pytest.raises(DBAPIError) as info, session_scope() as s:
        s.execute(text("SELECT CAST(:v AS text), 1 / 0"), {"v": "encrypted-teacher-key"})
    assert "encrypted-teacher-key" not in str(info.value)


# Keys that name a token of a tokenizer, or a count of tokens: their values are what a failure is about
# ("pad_token: 1" in a stage error), never credentials.
NOT_SECRETS = [
    "pad_token", "eos_token", "bos_token", "unk_token", "add_bos_token", "max_tokens", "max_new_tokens",
    "pad_token_id", "eos_token_id", "decoder_start_token_id", "num_tokens", "completion_tokens", "padToken",
    "tokenizer.pad_token", "image_token", "monkey",
]  # fmt: skip
SECRETS = [
    "api_key", "apiKey", "api-key", "x-api-key", "OPENAI_API_KEY", "token", "access_token", "hf_token",
    "HF_TOKEN", "auth_token", "x-auth-token", "refresh_token", "id_token", "accessToken", "password",
    "db_password", "passwd", "secret", "client_secret", "secret_key", "aws_secret_access_key",
    "private_key", "authorization",
]  # fmt: skip
SHAPES = ["{k}: {v}", "{k}={v}", '{{"{k}": "{v}"}}', "{k} = '{v}'", "settings {{{k}: {v}, other: 2}}"]


@pytest.mark.parametrize("key", NOT_SECRETS)
@pytest.mark.parametrize("shape", SHAPES)
def test_tokenizer_keys_and_token_counts_are_left_alone(key, shape):
    text = "tokenizer check failed: " + shape.format(k=key, v="v4lue-1")
    assert redact(text) == text
    assert scrub(text, "some-other-key") == text


@pytest.mark.parametrize("key", SECRETS)
@pytest.mark.parametrize("shape", SHAPES)
def test_keys_that_name_a_secret_lose_their_value(key, shape):
    text = "request failed: " + shape.format(k=key, v="hunter2-0123456789")
    out = redact(text)
    assert "hunter2" not in out and "[REDACTED]" in out, out
    assert key in out  # the key stays, so the message still says what was hidden


def test_a_stage_error_keeps_tokenizer_values_and_hides_credentials():
    from workers.runner import _why

    exc = ValueError("pad_token: 1 equals eos_token_id: 1 (max_tokens=64); hf_token=hf_abcdefgh12345 used")
    why = _why(exc)
    assert why.startswith("ValueError: pad_token: 1 equals eos_token_id: 1 (max_tokens=64); hf_token=")
    assert "hf_abcdefgh12345" not in why and why.endswith("hf_token=[REDACTED] used")


@pytest.mark.parametrize(
    "header", ["Authorization: Bearer abc.def-123456", "authorization: bearer abc.def-123456"]
)
def test_bearer_headers_are_redacted(header):
    out = redact(f"GET /v1/models {header} -> 401")
    assert "abc.def-123456" not in out and "[REDACTED]" in out


def test_stored_error_text_is_scrubbed_before_it_is_cut():
    from backend.core.logging import error_text
    from workers.teachers.transformers_local import _error

    exc = RuntimeError("x" * 290 + " sk-live-abcdef0123456789 api_key=hunter2-planted")
    for stored in (error_text(exc), _error(exc), error_text(exc, limit=300)):
        assert stored.startswith("RuntimeError: ") and "sk-live" not in stored and "hunter2" not in stored
    assert len(_error(exc)) == 300  # transformers_local's own bound still holds
    assert error_text("a hunter2-planted b", "hunter2-planted") == "a [REDACTED] b"


def test_redaction_keeps_the_arguments_formatters_read_and_never_raises():
    # uvicorn's access record: its formatter unpacks these five arguments
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", "/api/x?api_key=sk-live-abcdef0123456789", "1.1", 401), None,
    )  # fmt: skip
    assert RedactingFilter().filter(record)
    assert len(record.args) == 5 and record.args[4] == 401
    assert record.getMessage() == '127.0.0.1:5 - "GET /api/x?api_key=[REDACTED] HTTP/1.1" 401'

    class Unprintable:
        def __str__(self):
            raise RuntimeError("no")

    broken = logging.LogRecord("t", logging.INFO, __file__, 1, "value %s", (Unprintable(),), None)
    assert RedactingFilter().filter(broken)  # withheld, not raised
    assert "withheld" in broken.getMessage()


def test_a_template_naming_a_secret_keeps_its_placeholders():
    record = logging.LogRecord(
        "t", logging.WARNING, __file__, 1, "calling with api_key=%s and Bearer %s", ("k-123456789", "x"), None
    )
    RedactingFilter().filter(record)
    assert record.getMessage() == "calling with api_key=[REDACTED] and Bearer [REDACTED]"
