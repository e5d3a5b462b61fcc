"""The local AWS emulator: moto's WSGI app wrapped by our own middleware, served on 127.0.0.1.

This is the one place for every emulator extension. Each is documented against what AWS does:

* Call recorder: every AWS request is recorded as (access key, service, action, mutating, HTTP status).
  `GET /_ghost/calls[?key=AKID]` lists them, `POST /_ghost/calls/clear[?key=AKID]` forgets them. Callers that
  want their own count use their own access key id (moto maps every key to the same account), so tests that
  share one emulator do not see each other's calls. This is the instrument for "zero writes".
* Fault injection, per access key: `POST /_ghost/faults {"key": AKID, "crash_after_mutating": k}` lets k mutating
  calls through and then fails every later call of that key, as a process killed after its k-th write would
  never make them. The failure is a non-retryable AWS error (code `InjectedCrash`) in the protocol the caller
  speaks, so the SDK surfaces it at once. `DELETE /_ghost/faults?key=AKID` turns it off.
* `GET /_ghost/health`: readiness probe (moto version, pid).
* ECS CreateService keeps `deploymentConfiguration` (moto 5.2.5 drops it on create and only stores it on
  UpdateService; AWS stores it on create): after a successful CreateService that carried one, the same
  `deploymentConfiguration` and `loadBalancers` are applied through moto's UpdateService.
* EFS backup policy (moto 5.2.5 lacks it): `PUT|GET /2015-02-01/file-systems/{id}/backup-policy` as in the EFS
  API reference (PutBackupPolicy / DescribeBackupPolicy: body `{"BackupPolicy": {"Status": "ENABLED"}}`;
  `PolicyNotFound` (404) until one is put).

`POST /moto-api/reset` (moto's own) also clears our recorder and faults.
"""

import argparse
import io
import json
import os
import re
import sys
import threading
import time
import urllib.parse
import uuid

from werkzeug.serving import run_simple

from moto import __version__ as moto_version
from moto.moto_server.threaded_moto_server import DomainDispatcherApplication, create_backend_app

# Actions that only read. Anything else is a write ("mutating").
READ_PREFIXES = ("Describe", "List", "Get", "BatchGet", "Head", "Search", "Lookup", "Filter", "Query", "Scan", "Select")
CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/[^/]+/[^/]+/([^/]+)/aws4_request")
CBOR_PATH = re.compile(r"^/service/[^/]+/operation/([A-Za-z0-9]+)$")
EFS_BACKUP_POLICY = re.compile(r"^/2015-02-01/file-systems/([^/]+)/backup-policy/?$")


def is_read(action):
    if " " in action:  # a REST call, named "METHOD /path": only GET and HEAD read
        return action.split(" ", 1)[0] in ("GET", "HEAD")
    return action.startswith(READ_PREFIXES)


class GhostMiddleware:
    def __init__(self, app, build):
        self.app = app
        self.build = build
        self.lock = threading.Lock()
        self.calls = []
        self.faults = {}  # access key -> {"crash_after_mutating": k, "seen": n}
        self.efs_backup = {}  # file system id -> "ENABLED" | "DISABLED"

    # --- control API -------------------------------------------------------------------------------------------
    def control(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        key = (query.get("key") or [None])[0]
        if path == "/_ghost/health":
            return self.json(start_response, 200,
                             {"status": "ok", "moto": moto_version, "pid": os.getpid(), "build": self.build})
        if path == "/_ghost/calls" and method == "GET":
            with self.lock:
                calls = [c for c in self.calls if key is None or c["key"] == key]
            return self.json(start_response, 200, calls)
        if path == "/_ghost/calls/clear" and method == "POST":
            with self.lock:
                self.calls = [c for c in self.calls if key is not None and c["key"] != key]
            return self.json(start_response, 200, {"cleared": True})
        if path == "/_ghost/faults" and method == "POST":
            body = json.loads(self.read_body(environ) or b"{}")
            if not body.get("key") or not isinstance(body.get("crash_after_mutating"), int):
                return self.json(start_response, 400, {"error": "need key and integer crash_after_mutating"})
            with self.lock:
                self.faults[body["key"]] = {"crash_after_mutating": body["crash_after_mutating"], "seen": 0}
            return self.json(start_response, 200, {"armed": body})
        if path == "/_ghost/faults" and method == "DELETE":
            with self.lock:
                if key is None:
                    self.faults.clear()
                else:
                    self.faults.pop(key, None)
            return self.json(start_response, 200, {"cleared": True})
        return self.json(start_response, 404, {"error": f"no such control route {method} {path}"})

    @staticmethod
    def json(start_response, status, body):
        data = json.dumps(body).encode()
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}.get(status, "")
        start_response(f"{status} {reason}", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]

    @staticmethod
    def read_body(environ):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        environ["wsgi.input"] = io.BytesIO(body)
        return body

    # --- classification ----------------------------------------------------------------------------------------
    def classify(self, environ):
        auth = environ.get("HTTP_AUTHORIZATION", "")
        m = CREDENTIAL.search(auth)
        key, service = (m.group(1), m.group(2)) if m else ("anonymous", "unknown")
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "/")
        target = environ.get("HTTP_X_AMZ_TARGET")
        ctype = environ.get("CONTENT_TYPE", "")
        protocol = "rest"
        if target:
            action, protocol = target.rsplit(".", 1)[-1], "json"
        elif CBOR_PATH.match(path):
            action, protocol = CBOR_PATH.match(path).group(1), "cbor"
        elif ctype.startswith("application/x-www-form-urlencoded"):
            form = urllib.parse.parse_qs(self.read_body(environ).decode("utf-8", "replace"))
            action, protocol = (form.get("Action") or [""])[0], "query"
        else:
            action = ""
        if not action:
            action = f"{method} {path}"
        return key, service, action, protocol

    # --- faults ------------------------------------------------------------------------------------------------
    def crashed(self, key, mutating):
        with self.lock:
            fault = self.faults.get(key)
            if fault is None:
                return False
            if fault["seen"] >= fault["crash_after_mutating"]:
                return True
            if mutating:
                fault["seen"] += 1
            return False

    @staticmethod
    def error(start_response, service, protocol, code, message):
        request_id = str(uuid.uuid4())
        if protocol == "query" and service == "ec2":
            body = (f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors>"
                    f"<RequestID>{request_id}</RequestID></Response>").encode()
            headers = [("Content-Type", "text/xml")]
        elif protocol == "query":
            body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message>"
                    f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>").encode()
            headers = [("Content-Type", "text/xml")]
        elif service == "s3":
            body = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>".encode()
            headers = [("Content-Type", "application/xml")]
        else:
            body = json.dumps({"__type": code, "message": message}).encode()
            headers = [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", code)]
        headers += [("Content-Length", str(len(body))), ("x-amzn-RequestId", request_id)]
        start_response("400 Bad Request", headers)
        return [body]

    # --- extensions ----------------------------------------------------------------------------------------------
    def efs_backup_policy(self, environ, start_response, fs_id, record):
        if environ["REQUEST_METHOD"] == "PUT":
            body = json.loads(self.read_body(environ) or b"{}")
            status = (body.get("BackupPolicy") or {}).get("Status", "ENABLED")
            with self.lock:
                self.efs_backup[fs_id] = status
        with self.lock:
            status = self.efs_backup.get(fs_id)
        if status is None:
            record["status"] = 404
            data = json.dumps({"ErrorCode": "PolicyNotFound", "Message": f"no backup policy for {fs_id}"}).encode()
            start_response("404 Not Found", [("Content-Type", "application/json"), ("x-amzn-ErrorType", "PolicyNotFound"),
                                             ("Content-Length", str(len(data)))])
            return [data]
        record["status"] = 200
        return self.json(start_response, 200, {"BackupPolicy": {"Status": status}})

    def ecs_create_service(self, environ, start_response, record):
        body = self.read_body(environ)
        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            record["status"] = int(status.split(" ", 1)[0])
            return lambda data: None

        result = b"".join(self.app(environ, capture))
        request = json.loads(body or b"{}")
        if record["status"] == 200 and request.get("deploymentConfiguration"):
            update = {"cluster": request.get("cluster", "default"), "service": request["serviceName"],
                      "deploymentConfiguration": request["deploymentConfiguration"]}
            if request.get("loadBalancers"):
                update["loadBalancers"] = request["loadBalancers"]
            data = json.dumps(update).encode()
            inner = dict(environ)
            inner["HTTP_X_AMZ_TARGET"] = "AmazonEC2ContainerServiceV20141113.UpdateService"
            inner["CONTENT_LENGTH"] = str(len(data))
            inner["wsgi.input"] = io.BytesIO(data)
            updated = b"".join(self.app(inner, lambda status, headers, exc_info=None: (lambda d: None)))
            try:
                result = json.dumps({"service": json.loads(updated)["service"]}).encode()
                captured["headers"] = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
                captured["headers"].append(("Content-Length", str(len(result))))
            except (ValueError, KeyError):
                pass  # keep moto's own answer
        start_response(captured["status"], captured["headers"])
        return [result]

    # --- WSGI --------------------------------------------------------------------------------------------------
    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_ghost/"):
            return self.control(environ, start_response)
        if path.startswith("/moto-api"):
            if path.rstrip("/") == "/moto-api/reset":
                with self.lock:
                    self.calls.clear()
                    self.faults.clear()
                    self.efs_backup.clear()
            return self.app(environ, start_response)

        key, service, action, protocol = self.classify(environ)
        mutating = not is_read(action)
        record = {"key": key, "service": service, "action": action, "mutating": mutating, "status": 0,
                  "at": time.time()}
        with self.lock:
            self.calls.append(record)
        if self.crashed(key, mutating):
            record["status"] = 400
            record["injected"] = "crash"
            return self.error(start_response, service, protocol, "InjectedCrash",
                              "the emulator's fault injection stopped this caller (crash after k mutating calls)")

        m = EFS_BACKUP_POLICY.match(path)
        if m and service == "elasticfilesystem":
            record["action"] = "PutBackupPolicy" if environ["REQUEST_METHOD"] == "PUT" else "DescribeBackupPolicy"
            record["mutating"] = environ["REQUEST_METHOD"] == "PUT"
            return self.efs_backup_policy(environ, start_response, m.group(1), record)

        if protocol == "json" and action == "CreateService" and service == "ecs":
            return self.ecs_create_service(environ, start_response, record)

        def recording_start_response(status, headers, exc_info=None):
            record["status"] = int(status.split(" ", 1)[0])
            return start_response(status, headers, exc_info)

        return self.app(environ, recording_start_response)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4566)
    parser.add_argument("--build", default="dev", help="content hash of this launcher, reported by /_ghost/health")
    args = parser.parse_args()
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("refusing to bind the emulator to a non-loopback address")
    os.environ.setdefault("MOTO_PORT", str(args.port))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, GhostMiddleware(app, args.build), threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
