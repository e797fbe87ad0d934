"""The OpenAPI schema (drf-spectacular) is valid, and a schema-driven fuzz run
(schemathesis, bounded in examples and time) against every endpoint of a live
server finds no 5xx."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from openapi_spec_validator import validate

from tests.api.factories import AppointmentFactory, InsurancePolicyFactory, RepairOrderFactory
from tests.vehicles.factories import VehicleFactory

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
# The whole run's time budget (seconds); the test allows a margin on top for start-up.
FUZZ_SECONDS = 35


def test_the_openapi_schema_validates(api):
    response = api.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = json.loads(response.content)
    validate(schema)  # raises on any violation of the OpenAPI 3 specification
    paths = schema["paths"]
    for path in ("/api/v1/customers/", "/api/v1/repair-orders/upsert/", "/api/v1/vehicles/{vehicle_pk}/readings/"):
        assert path in paths, path
    # The strict filters and the cursor are documented.
    parameters = {p["name"] for p in paths["/api/v1/repair-orders/"]["get"]["parameters"]}
    assert {"cursor", "page_size", "ordering", "kind", "opened_at_after", "opened_at_before"} <= parameters
    # Every POST documents the Idempotency-Key header.
    for path, operations in paths.items():
        if "post" in operations:
            headers = {p["name"] for p in operations["post"].get("parameters", []) if p["in"] == "header"}
            assert "Idempotency-Key" in headers, path


def test_drf_spectacular_generates_it_without_a_warning(tmp_path):
    # --fail-on-warn: a field whose type cannot be read, or two choice sets under one enum name, fails here.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert (tmp_path / "schema.yaml").stat().st_size > 0


@pytest.mark.slow
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_fuzz_run_against_every_endpoint_finds_no_server_error(
    live_server, settings, dealership, group_admin, tmp_path
):
    from crm.services import api_token_issue

    # No throttling in the way of the run.
    settings.CRM_API_TOKEN_RATE = "100000/min"
    _token, key = api_token_issue(name="fuzz", dealership=dealership, can_write=True, by=group_admin)
    car = VehicleFactory(customer__dealership=dealership)
    RepairOrderFactory(vehicle=car)
    AppointmentFactory(customer=car.customer, vehicle=car)
    InsurancePolicyFactory(vehicle=car)
    command = [
        str(SCHEMATHESIS),
        "run",
        f"{live_server.url}/api/schema/?format=json",
        "--url",
        live_server.url,
        "--header",
        f"Authorization: Bearer {key}",
        "--checks",
        "not_a_server_error",
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        "6",
        "--max-time",
        str(FUZZ_SECONDS),
        "--seed",
        "14",
        "--workers",
        "1",
        "--request-timeout",
        "10",
        "--no-shrink",
        "--warnings",
        "off",
    ]
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    # In a temporary folder: hypothesis and schemathesis keep their databases in the working directory.
    run = subprocess.run(
        command, capture_output=True, text=True, timeout=FUZZ_SECONDS + 60, env=env, cwd=tmp_path, check=False
    )
    assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-2000:]
