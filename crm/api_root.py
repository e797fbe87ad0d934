"""``/api/v1/``: the list routes of every app's API, found by walking the URL
resolver, so that a route an app registers appears here without editing
this file (crm is the lowest layer and imports no app)."""

import re

from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

API_PREFIX = "api/v1/"
_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")


def _readable(regex: str) -> str:
    """``^vehicles/(?P<vehicle_pk>[0-9]+)/readings/$`` → ``vehicles/{vehicle_pk}/readings/``."""
    route = _GROUP.sub(r"{\1}", regex)
    return route.replace("^", "").replace("$", "").replace("\\.", ".").replace("\\", "")


def _walk(patterns, prefix: str = ""):
    for entry in patterns:
        route = prefix + _readable(str(entry.pattern))
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            yield route, entry


def api_list_routes() -> list[tuple[str, str, URLPattern]]:
    """(name, route, pattern) of every list route under ``/api/v1/``: a
    viewset's route whose name ends in ``-list`` (the routers' naming), sorted
    by route."""
    routes = []
    for route, entry in _walk(get_resolver().url_patterns):
        if route.startswith(API_PREFIX) and entry.name and entry.name.endswith("-list"):
            routes.append((entry.name.removesuffix("-list"), route, entry))
    return sorted(routes, key=lambda item: item[1])


def api_routes(prefix: str = API_PREFIX) -> list[tuple[str, URLPattern]]:
    """(route, pattern) of every route under ``prefix``, for tests that walk the API."""
    return [(route, entry) for route, entry in _walk(get_resolver().url_patterns) if route.startswith(prefix)]


class ApiRootView(APIView):
    """Every resource of the API, with its address. Addresses with ``{…}``
    need the parent's id (e.g. a car's mileage readings)."""

    @extend_schema(exclude=True)
    def get(self, request, format=None):
        # Joined by hand: build_absolute_uri would escape the braces of "{vehicle_pk}".
        base = request.build_absolute_uri("/")
        return Response({name: base + route for name, route, _entry in api_list_routes()})
