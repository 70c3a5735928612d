"""API Gateway REST API endpoints for the emulator: requests answered by the integrated function.

``gateway.handles(environ)`` tells the emulator's WSGI app which requests are for an API's
endpoint (``routing`` has the URL forms); ``gateway.app`` answers them by running the function
(``emulator.lambda_runtime``) with a proxy event (``proxy``), after API Gateway's checks
(``permission``). ``endpoint_url`` is the address a stage's endpoint has on this emulator.
"""
from __future__ import annotations

from emulator.apigw import gateway
from emulator.apigw.routing import PATH_PREFIX
from emulator.codecommit.clone_urls import base_url

__all__ = ["endpoint_url", "gateway"]


def endpoint_url(api_id: str, stage: str, aws_url: str | None = None) -> str | None:
    """``BASE/_aws/execute-api/API_ID/STAGE`` when the emulator serves HTTP, else ``aws_url``."""
    base = base_url()
    return f"{base}{PATH_PREFIX}{api_id}/{stage}" if base else aws_url
