"""HTTP plumbing shared by the REST adapters: timeouts, error mapping, circuit breaker.

Adapters do not retry: the outbox (or the person in front of a preview) decides when to try
again. The breaker makes a dead service fail at once instead of costing a timeout per call.
"""

from __future__ import annotations

from typing import Any

import httpx
import pybreaker

from connectors.base import (
    ConnectorMalformedResponse,
    ConnectorRejected,
    ConnectorUnavailable,
    NotFound,
)

_breakers: dict[str, pybreaker.CircuitBreaker] = {}


def breaker(name: str, fail_max: int = 5, reset_timeout: float = 30.0) -> pybreaker.CircuitBreaker:
    if name not in _breakers:
        _breakers[name] = pybreaker.CircuitBreaker(
            fail_max=fail_max,
            reset_timeout=reset_timeout,
            name=name,
            # Only an unavailable service trips the breaker, not a refused or unknown request.
            exclude=[lambda e: not isinstance(e, ConnectorUnavailable)],
        )
    return _breakers[name]


def reset_breakers() -> None:
    _breakers.clear()


def request(
    client: httpx.Client, method: str, url: str, *, breaker_name: str, **kwargs: Any
) -> httpx.Response:
    def call() -> httpx.Response:
        try:
            response = client.request(method, url, **kwargs)
        except httpx.TimeoutException as error:
            raise ConnectorUnavailable(f"{url}: timed out") from error
        except httpx.TransportError as error:
            raise ConnectorUnavailable(f"{url}: {error}") from error
        if response.status_code == 404:
            raise NotFound(f"{url}: not found")
        if response.status_code >= 500 or response.status_code == 429:
            raise ConnectorUnavailable(f"{url}: HTTP {response.status_code}")
        if response.status_code >= 400:
            rejected = ConnectorRejected(
                f"{url}: HTTP {response.status_code} {response.text[:200]}"
            )
            rejected.status = response.status_code
            raise rejected
        return response

    try:
        return breaker(breaker_name).call(call)
    except pybreaker.CircuitBreakerError as error:
        raise ConnectorUnavailable(f"{breaker_name}: circuit open, service failing") from error


def json_body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError as error:
        raise ConnectorMalformedResponse(f"{response.url}: body is not JSON") from error
