"""Helpers of the API core's tests."""

import json

import pytest


@pytest.fixture
def api(client, advisor):
    client.force_login(advisor)
    return client


@pytest.fixture
def manager_api(client, manager):
    client.force_login(manager)
    return client


def post(client, url, data=None, lang="en", **headers):
    return client.post(
        url, json.dumps(data or {}), content_type="application/json", HTTP_ACCEPT_LANGUAGE=lang, **headers
    )


def patch(client, url, data, lang="en"):
    return client.patch(url, json.dumps(data), content_type="application/json", HTTP_ACCEPT_LANGUAGE=lang)


def get(client, url, params=None, lang="en"):
    return client.get(url, params or {}, HTTP_ACCEPT_LANGUAGE=lang)


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]
