"""Lambda's execution environments for the emulator: functions' real code, run on the host.

``pool.invoke(function, payload)`` runs an event through a function moto stores, in a warm
environment whose process is the function's own ``bootstrap`` (custom runtimes: ``provided``,
``provided.al2``, ``provided.al2023``) speaking the Runtime API (``runtime_api``) to the emulator.
A foreign-CPU binary runs under qemu-user (``entrypoint``). Every environment ends on reset and
when the emulator's process exits. The emulator's API Gateway (``emulator.apigw``) sends the events.
"""
