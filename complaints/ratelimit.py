"""Fixed-window rate limits on Django's cache (Redis in production and CI,
local memory otherwise), for the public complaint form.

A window is a key named after its number (``now // seconds``): the first hit
creates it with ``cache.add`` (atomic: only one caller creates it) and every
hit counts with ``cache.incr`` (atomic INCR on Redis; under a lock in local
memory). The window is in the key's name, so a key that somehow outlives its
expiry never blocks anyone: the next window is another key.

What is limited (an IP address, a mobile number) never goes into the cache in
clear: the key carries a keyed hash of it.
"""

import dataclasses
import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.utils.crypto import salted_hmac

logger = logging.getLogger(__name__)

_SALT = "complaints.ratelimit"


@dataclasses.dataclass(frozen=True)
class Limit:
    """At most ``count`` hits per ``seconds`` for one identity in ``scope``."""

    scope: str
    count: int
    seconds: int

    def key(self, identity: str, now: float) -> str:
        digest = salted_hmac(_SALT, f"{self.scope}:{identity}").hexdigest()[:32]
        return f"crm:ratelimit:{self.scope}:{digest}:{int(now // self.seconds)}"


def hit(limit: Limit, identity: str, *, now: float | None = None) -> bool:
    """Count one hit of ``identity``; True while it is within the limit.

    The hit that goes over is counted too (a caller hammering the form stays
    over until the window ends). If the cache is down the hit is allowed and
    logged: a customer's complaint matters more than a bot's nuisance."""
    now = time.time() if now is None else now
    key = limit.key(identity, now)
    # Kept a little past the window's end so that clocks of two web processes
    # that differ by a second or two still find the same count.
    timeout = limit.seconds - int(now % limit.seconds) + 5
    try:
        cache.add(key, 0, timeout=timeout)
        try:
            count = cache.incr(key)
        except ValueError:
            # Expired between add and incr: this hit opens the window again.
            cache.add(key, 1, timeout=timeout)
            count = 1
    except Exception:  # the cache server is unreachable (redis.ConnectionError and the like)
        logger.warning("rate limit %s: cache unavailable, hit allowed", limit.scope, exc_info=True)
        return True
    return count <= limit.count


def client_ip(request: HttpRequest) -> str:
    """The address the request came from.

    ``REMOTE_ADDR`` by default: X-Forwarded-For is written by whoever sends the
    request, so trusting it would let a bot pick a new "IP" for every post.
    Behind reverse proxies that append to it (nginx, a load balancer), set
    ``CRM_COMPLAINT_PROXY_HOPS`` to how many there are: the address is then the
    one that many places from the right, the last one a trusted proxy saw."""
    hops = settings.CRM_COMPLAINT_PROXY_HOPS
    remote = request.META.get("REMOTE_ADDR", "")
    if hops <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(forwarded) < hops:
        # Fewer entries than proxies: the request did not come through them all.
        return remote
    return forwarded[-hops]


def complaint_form_limits() -> tuple[Limit, Limit]:
    """The form's limits per IP address and per mobile number (settings, read per call)."""
    return (
        Limit("complaint-ip", settings.CRM_COMPLAINT_PER_IP, settings.CRM_COMPLAINT_PER_IP_SECONDS),
        Limit("complaint-mobile", settings.CRM_COMPLAINT_PER_MOBILE, settings.CRM_COMPLAINT_PER_MOBILE_SECONDS),
    )
