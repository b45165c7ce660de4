"""Logging set-up with a filter that keeps secrets out of every log line."""

from __future__ import annotations

import logging
import re
from typing import overload

# Bearer tokens, our own tokens, OpenAI-style keys and password hashes, wherever they appear.
_SECRET_PATTERNS = [
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._\-]+"),
    re.compile(r"dst_[A-Za-z0-9_\-]{8,}"),
    re.compile(r"sk-[A-Za-z0-9_\-]{8,}"),
    re.compile(r"\bhf_[A-Za-z0-9]{20,}"),  # Hugging Face tokens (a project's Hub token: docs/hub.md)
    re.compile(r"\$argon2[a-z]*\$[^\s'\",)]+"),  # password hashes
]
# key=value / "key": value pairs whose key may name a secret; _names_secret decides on the whole key.
# Matching a bare "token" anywhere in the key redacted tokenizer settings ("pad_token: 1" in a stage
# error), which hid the real cause of a failure.
_KEY_VALUE = re.compile(
    r"(?i)(?<![\w.-])([\w.-]*?(?:key|token|passw(?:or)?d|passphrase|secret|authorization|credentials?))"
    r"([\"']?\s*[:=]\s*[\"']?)([^\s\"',}]+)"
)
_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
# <role>_token keys of tokenizers and processors (pad_token, add_bos_token, image_token...): a token's
# text or id, never a credential.
_TOKEN_ROLES = frozenset(
    "pad eos bos unk sep cls mask eot eom boi eoi boa eoa image video audio vision start end think "
    "prefix suffix middle fim decoder".split()
)
_SECRET_WORDS = frozenset(
    "password passwd passphrase secret authorization apikey credential credentials".split()
)
_KEY_KINDS = frozenset({"api", "secret", "private", "access", "auth", "client", "signing", "encryption"})


def _names_secret(key: str) -> bool:
    """Whether a key (api_key, hf_token, accessToken, x-auth-token...) names a secret value; pad_token,
    max_tokens, eos_token_id, num_tokens and the like do not."""
    words = [w for w in re.split(r"[_\-]+", _CAMEL.sub(r"\1_\2", key.rsplit(".", 1)[-1]).lower()) if w]
    if not words:
        return False
    last, before = words[-1], words[-2] if len(words) > 1 else ""
    if last == "token":
        return before not in _TOKEN_ROLES
    if last == "key":
        return before in _KEY_KINDS
    return last in _SECRET_WORDS


def _redact_value(m: re.Match) -> str:
    return f"{m.group(1)}{m.group(2)}[REDACTED]" if _names_secret(m.group(1)) else m.group(0)


def redact(text: str) -> str:
    for pat in _SECRET_PATTERNS:
        text = pat.sub(lambda m: (m.group(1) if m.groups() else "") + "[REDACTED]", text)
    return _KEY_VALUE.sub(_redact_value, text)


@overload
def scrub(text: str, *secrets: str | None) -> str: ...
@overload
def scrub(text: str | None, *secrets: str | None) -> str | None: ...
def scrub(text: str | None, *secrets: str | None) -> str | None:
    """redact(), and every occurrence of the given secrets (a teacher's API key, which a provider's
    error body may echo back in any shape) replaced: for errors that are stored or logged."""
    if not text:
        return text
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[REDACTED]")
    return redact(text)


# The most characters of an error stored on a row (stage, run, chunk, job, probe) that viewers read.
ERROR_CHARS = 4000


def error_text(error: BaseException | str, *secrets: str | None, limit: int = ERROR_CHARS) -> str:
    """The text stored as an error, from an exception ("Type: message") or a message: scrubbed of
    secrets (a provider's or library's message may quote a key or a URL with one) and then cut to
    `limit`. Redaction comes first so that a cut never leaves the head of a secret the pattern no
    longer recognises. Every writer of a stored error goes through here."""
    text = f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else str(error)
    return (scrub(text, *secrets) or "")[:limit]


_PLAIN = (int, float, bool, type(None))


def _redact_arg(arg):
    """One %-argument redacted, keeping its type where it holds nothing to hide (a %d stays a number)."""
    if isinstance(arg, _PLAIN):
        return arg
    text = arg if isinstance(arg, str) else str(arg)
    clean = redact(text)
    return clean if clean != text or isinstance(arg, str) else arg


class RedactingFilter(logging.Filter):
    """Redacts a record in place and never raises: a log line is never lost to its redaction.

    The arguments are redacted one by one and kept as arguments, because formatters read them: uvicorn's
    access formatter unpacks record.args (client, method, path, version, status), so replacing them with
    None turned every access line whose query string held a secret into a "Logging error" traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            self._redact(record)
        except Exception:  # noqa: BLE001 - the line must still be written; say only that it was hidden
            record.msg, record.args = f"[log line from {record.name} withheld: redaction failed]", None
            record.exc_info, record.exc_text = None, None
        return True

    @staticmethod
    def _redact(record: logging.LogRecord) -> None:
        if isinstance(record.args, tuple):
            record.args = tuple(_redact_arg(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _redact_arg(v) for k, v in record.args.items()}
        # The template itself is left alone while it has arguments: redacting "api_key=%s" would eat
        # its placeholder. A secret in the template, or made of template and argument, is caught below.
        msg = record.getMessage()
        clean = redact(msg)
        if clean != msg:  # a secret made of the template and an argument together: flatten the line
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:  # a traceback's text is formatted once, then cached
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)


def configure_logging(level: str = "INFO") -> None:
    root = logging.getLogger()
    if not any(isinstance(f, RedactingFilter) for h in root.handlers for f in h.filters):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.addFilter(RedactingFilter())
        root.addHandler(handler)
    root.setLevel(level.upper())
    # Filters on the root handler do not see records that other handlers (uvicorn's) emit.
    for name in ("uvicorn", "uvicorn.access", "uvicorn.error", "celery"):
        lg = logging.getLogger(name)
        for h in lg.handlers:
            if not any(isinstance(f, RedactingFilter) for f in h.filters):
                h.addFilter(RedactingFilter())
