"""CodeCommit's git transport: git's smart HTTP at ``/v1/repos/NAME``, served by ``git http-backend``.

``git http-backend`` (the git package's CGI program) does the protocol; this WSGI app finds the
repository (see ``lookup`` for which account and region a URL means), hands it the request as CGI
and, after a push, compares the refs and tells CodeCommit what moved (the state-change event, the
commit recorded, the watching pipelines started) before git hears that the push went through.

Authentication: AWS wants SigV4-derived Git credentials. Offline the emulator accepts any basic
auth or none (git sends none unless challenged); a 12-digit user name narrows the account.
"""
from __future__ import annotations

import base64
import logging
import re
import subprocess
import tempfile
from typing import IO, Any, Callable, Iterable

from werkzeug.wsgi import get_input_stream

from emulator.codecommit import repos
from emulator.codecommit.lookup import Located, find

logger = logging.getLogger(__name__)

ROUTE = re.compile(r"^/v1/(?:accounts/(?P<account>\d{12})/regions/(?P<region>[a-z0-9-]{1,30})/)?"
                   r"repos/(?P<name>[\w.-]{1,100})(?P<rest>/.*)?$")
SERVICES = ("git-upload-pack", "git-receive-pack")
CHUNK = 1 << 16
MAX_BODY = 2 << 30  # 2 GiB, CodeCommit's limit for a single push

Response = Iterable[bytes]
StartResponse = Callable[..., Any]


def handles(environ: dict[str, Any]) -> bool:
    """Whether a request is git's: a ``/v1/…repos/`` path not signed as an AWS API call."""
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    return bool(ROUTE.match(environ.get("PATH_INFO", ""))) and not authorization.startswith("AWS4-")


def _plain(start_response: StartResponse, status: str, message: str) -> Response:
    # git prints a text/plain error body to the user as "remote: …" lines.
    body = (message.rstrip("\n") + "\n").encode()
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
    return [body]


def _basic_user(environ: dict[str, Any]) -> str:
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    if not authorization.lower().startswith("basic "):
        return ""
    try:
        return base64.b64decode(authorization[6:]).decode().split(":", 1)[0]
    except (ValueError, UnicodeDecodeError):
        return ""


def _resolve(match: re.Match[str], user: str) -> tuple[Located | None, str]:
    """The repository a URL names, or None and why not (as the HTTP status line and message)."""
    name = match["name"]
    account = match["account"] or (user if re.fullmatch(r"\d{12}", user) else None)
    found = find(name, account, match["region"])
    if not found:
        where = f" in account {account}" if account else ""
        return None, f"404 Not Found\nRepository {name} does not exist{where}."
    if len(found) > 1:
        choices = ", ".join(f"/v1/accounts/{r.account_id}/regions/{r.region}/repos/{name}" for r in found)
        return None, (f"409 Conflict\nSeveral accounts or regions have a repository named {name}; "
                      f"use the path naming one of them: {choices}")
    return found[0], ""


def _body(environ: dict[str, Any]) -> tuple[IO[bytes], int]:
    """The request body in a temporary file, and its length.

    A push bigger than git's http.postBuffer (1 MiB) arrives chunked, without Content-Length: the
    server has then decoded the chunks and marked the stream terminated, so it is read to its end.
    """
    stream = get_input_stream(environ, max_content_length=MAX_BODY)
    spool = tempfile.TemporaryFile()
    size = 0
    while chunk := stream.read(CHUNK):
        spool.write(chunk)
        size += len(chunk)
    spool.seek(0)
    return spool, size


def _cgi_environ(environ: dict[str, Any], located: Located, rest: str, size: int, user: str) -> dict[str, str]:
    extra = {
        "GIT_PROJECT_ROOT": str(located.path.parent),
        "GIT_HTTP_EXPORT_ALL": "1",
        # Pushing over HTTP is off unless the repository or the environment enables it.
        "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "http.receivepack", "GIT_CONFIG_VALUE_0": "true",
        "REMOTE_USER": user or "emulator",
        "REMOTE_ADDR": str(environ.get("REMOTE_ADDR", "127.0.0.1")),
        "REQUEST_METHOD": str(environ.get("REQUEST_METHOD", "GET")),
        "PATH_INFO": f"/{located.path.name}{rest}",
        "QUERY_STRING": str(environ.get("QUERY_STRING", "")),
        "CONTENT_TYPE": str(environ.get("CONTENT_TYPE", "")),
        "CONTENT_LENGTH": str(size),
        "SERVER_PROTOCOL": str(environ.get("SERVER_PROTOCOL", "HTTP/1.1")),
        "GATEWAY_INTERFACE": "CGI/1.1",
    }
    # git http-backend inflates gzip request bodies itself, and speaks protocol v2 when asked.
    if environ.get("HTTP_CONTENT_ENCODING"):
        extra["HTTP_CONTENT_ENCODING"] = str(environ["HTTP_CONTENT_ENCODING"])
    if environ.get("HTTP_GIT_PROTOCOL"):
        extra["GIT_PROTOCOL"] = str(environ["HTTP_GIT_PROTOCOL"])
    return repos.git_env(extra)


def _run_backend(env: dict[str, str], body: IO[bytes]) -> tuple[str, list[tuple[str, str]], bytes]:
    done = subprocess.run(["git", "http-backend"], stdin=body, capture_output=True, env=env,
                          timeout=repos.GIT_TIMEOUT, check=False)
    if done.stderr:
        logger.info("git http-backend: %s", done.stderr.decode(errors="replace").strip())
    head, separator, payload = done.stdout.partition(b"\r\n\r\n")
    if not separator:
        head, separator, payload = done.stdout.partition(b"\n\n")
    if not separator:
        raise repos.GitError(f"git http-backend exited {done.returncode} without a response")
    status = "200 OK"
    headers = []
    for line in head.decode("latin-1").splitlines():
        key, _, value = line.partition(":")
        if key.lower() == "status":
            status = value.strip()
        elif key:
            headers.append((key.strip(), value.strip()))
    headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
    headers.append(("Content-Length", str(len(payload))))
    return status, headers, payload


def _announce(located: Located, before: dict[str, str], after: dict[str, str]) -> None:
    """Tell CodeCommit about every branch and tag the push moved."""
    from emulator.codepipeline.triggers import codecommit_ref_changed

    for ref in sorted(set(before) | set(after)):
        old, new = before.get(ref), after.get(ref)
        if old == new or not ref.startswith(("refs/heads/", "refs/tags/")):
            continue
        try:
            result = codecommit_ref_changed(located, ref, old, new)
        except Exception:  # the push itself succeeded; what it should have started is logged
            logger.exception("after the push to %s (%s): telling CodeCommit failed", located.name, ref)
            continue
        if result is not None:
            logger.info("git push to %s %s: commit %s, %d execution(s) started", located.name, ref,
                        result.commit_id[:8], len(result.executions))


def app(environ: dict[str, Any], start_response: StartResponse) -> Response:
    """Serve one git smart-HTTP request for a CodeCommit repository."""
    match = ROUTE.match(environ.get("PATH_INFO", ""))
    if match is None:
        return _plain(start_response, "404 Not Found", "Not a repository path.")
    rest = match["rest"] or ""
    service = rest.rsplit("/", 1)[-1]
    if rest != "/info/refs" and service not in SERVICES:
        # CodeCommit speaks git's smart protocol only.
        return _plain(start_response, "404 Not Found", f"{rest or '/'} is not part of git's smart HTTP protocol.")
    user = _basic_user(environ)
    located, refusal = _resolve(match, user)
    if located is None:
        status, message = refusal.split("\n", 1)
        return _plain(start_response, status, message)
    try:
        repos.ensure(located.path)
    except repos.GitError as err:
        logger.error("cannot serve %s: %s", located.name, err)
        return _plain(start_response, "500 Internal Server Error", str(err))
    body, size = _body(environ)
    with body:
        env = _cgi_environ(environ, located, rest, size, user)
        pushing = service == "git-receive-pack" and environ.get("REQUEST_METHOD") == "POST"
        if not pushing:
            status, headers, payload = _run_backend(env, body)
        else:
            with repos.lock_of(located.path):
                before = repos.refs(located.path)
                status, headers, payload = _run_backend(env, body)
                after = repos.refs(located.path)
                _announce(located, before, after)
    start_response(status, headers)
    return [payload]
