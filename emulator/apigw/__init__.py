"""API Gateway REST API endpoints for the emulator: requests answered by the integrated function.

``gateway.handles(environ)`` tells the emulator's WSGI app which requests are for an API's
endpoint (``routing`` has the URL forms); ``gateway.app`` answers them by running the function
(``emulator.lambda_runtime``) with a proxy event (``proxy``), after API Gateway's checks
(``permission``). Where a stage is served: ``routing``.
"""
from __future__ import annotations

from emulator.apigw import gateway

__all__ = ["gateway"]
