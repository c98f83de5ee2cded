"""The trust the portal verifies signatures against: a local copy of a trusted list.

Production points ``PORTALE_SIGNATURE_TRUSTED_LIST`` at a local copy of the Italian trusted
list (ETSI TS 119 612 XML, as AgID publishes it through the EU list of the lists), refreshed by
``portale signatures refresh-trust`` which checks the lists' XML signatures before replacing
the copy. Verification never fetches the list itself: it reads the file, parsed once and again
only when the file changes. Tests and the demo write the list of their own test PKI
(:mod:`connectors.fakes.trust_services`) to the same setting.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from portale.signatures.verify import TrustConfig

log = logging.getLogger(__name__)

_cache: dict[str, tuple[float, Any]] = {}
_lock = threading.Lock()


def load_registry(path: str | None) -> Any:
    """The pyHanko TSP registry of the trusted list at ``path`` (``None`` if there is none)."""
    if not path:
        return None
    file = Path(path)
    try:
        mtime = file.stat().st_mtime
    except OSError:
        log.warning("the trusted list %s is missing: signatures cannot be trusted", path)
        return None
    with _lock:
        cached = _cache.get(path)
        if cached is not None and cached[0] == mtime:
            return cached[1]
    from pyhanko.sign.validation.qualified.eutl_parse import trust_list_to_registry_unsafe

    # The copy's XML signature was checked when it was fetched (refresh-trust); reading it
    # here trusts the local file as configured.
    registry, errors = trust_list_to_registry_unsafe(file.read_text(encoding="utf-8"))
    for error in errors:
        log.warning("trusted list %s: %s", path, error)
    with _lock:
        _cache[path] = (mtime, registry)
    return registry


def trust_from_config(config: Any) -> TrustConfig:
    return TrustConfig(
        registry=load_registry(config.get("SIGNATURE_TRUSTED_LIST")),
        fetch_timeout=float(config.get("SIGNATURE_FETCH_TIMEOUT", 4)),
        total_timeout=float(config.get("SIGNATURE_TOTAL_TIMEOUT", 12)),
    )
