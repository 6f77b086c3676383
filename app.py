"""The ContainerOps API as a Chalice app: the same code runs locally and on AWS Lambda.

Routes are wiring only: parse the request, call a service from chalicelib, map errors.
"""

from __future__ import annotations

from typing import Any

from chalice.app import Chalice

app = Chalice(app_name="containerops")


@app.route("/api/health", methods=["GET"])
def health() -> dict[str, Any]:
    return {"status": "ok", "service": "containerops"}
