"""The egress policy (backend/core/egress.py) on aiohttp: a connector whose resolver checks every
address it returns, so the addresses checked are the ones dialled (no window for DNS rebinding)."""

from __future__ import annotations

import socket
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from backend.core.egress import EgressPolicy, EgressRefused


class PolicyResolver(AbstractResolver):
    def __init__(self, policy: EgressPolicy):
        self.policy = policy
        self._inner = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        infos = await self._inner.resolve(host, port, family)
        for info in infos:
            self.policy.check_ip(host, info["host"])
        return infos

    async def close(self) -> None:
        await self._inner.close()


def connector(policy: EgressPolicy | None, **kwargs: Any) -> aiohttp.TCPConnector:
    """A TCPConnector that resolves through the policy; None only for a server this worker started."""
    if policy is not None and policy.strict:
        kwargs["resolver"] = PolicyResolver(policy)
    return aiohttp.TCPConnector(**kwargs)


def refusal(exc: BaseException) -> EgressRefused | None:
    """The policy's refusal behind an aiohttp error, if that is what it is."""
    seen = 0
    while exc is not None and seen < 5:
        if isinstance(exc, EgressRefused):
            return exc
        exc = getattr(exc, "os_error", None) or exc.__cause__  # type: ignore[assignment]
        seen += 1
    return None
