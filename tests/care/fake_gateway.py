"""A local stand-in for Aliyun's Dysmsapi ``SendSms`` endpoint, for tests,
benchmarks and demos: it checks the signature like Aliyun does, answers in
Aliyun's JSON shapes, and can be told to refuse numbers, templates, rate
limit or go down.

    with FakeAliyunGateway() as gateway:
        backend = AliyunSmsBackend(gateway.access_key_id, gateway.secret, endpoint=gateway.url)
        backend.send(message)
        assert gateway.sent_out_ids() == [str(message.id)]
"""

import hmac
import http
import http.server
import itertools
import json
import sys
import threading
import time
import urllib.parse
import uuid

from care.messaging.aliyun import sign, string_to_sign


class FakeAliyunGateway:
    """Serves on 127.0.0.1 on a free port from a daemon thread; one thread
    per connection, keep-alive on, so a pooled client reuses connections
    as it would with Aliyun."""

    def __init__(
        self,
        access_key_id: str = "fake-id",
        secret: str = "fake-secret",
        invalid_numbers=(),
        unapproved_templates=(),
        delay: float = 0.0,
    ):
        self.access_key_id = access_key_id
        self.secret = secret
        # Scripted behaviour; tests may change these while the server runs.
        self.invalid_numbers = set(invalid_numbers)
        self.unapproved_templates = set(unapproved_templates)
        self.delay = delay  # seconds before each answer
        self.down = False  # True: every request gets HTTP 503
        self.requests: list[dict] = []  # every request whose signature held, with the Code it got
        self._lock = threading.Lock()
        self._rate_limited = 0
        self._biz_ids = itertools.count(1)
        self._nonces: set[str] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- life cycle

    def start(self) -> "FakeAliyunGateway":
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.gateway = self
        # A short poll so stop() returns at once (shutdown waits for the next poll).
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-aliyun", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        self._server = self._thread = None

    def __enter__(self) -> "FakeAliyunGateway":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/"

    # --- scripting and inspection

    def rate_limit_next(self, n: int = 1) -> None:
        """The next ``n`` signed requests get ``isv.BUSINESS_LIMIT_CONTROL``."""
        with self._lock:
            self._rate_limited += n

    def sent_out_ids(self) -> list[str]:
        """OutIds of the requests answered OK, in arrival order."""
        with self._lock:
            return [request["out_id"] for request in self.requests if request["code"] == "OK"]

    # --- answering (called from the handler threads)

    def answer(self, method: str, params: dict[str, str]) -> tuple[int, dict]:
        """HTTP status and JSON body for one request, as Aliyun would give them."""
        if self.delay:
            time.sleep(self.delay)
        if self.down:
            return 503, _error("ServiceUnavailable", "The request has failed due to a temporary failure of the server.")
        refusal = self._check_signature(method, params)
        if refusal:
            return refusal
        if params.get("Action") != "SendSms":
            return 404, _error(
                "InvalidAction.NotFound", "Specified api is not found, please check your url and method."
            )
        code, message = self._outcome(params)
        body = {"Message": message, "RequestId": _request_id(), "Code": code}
        with self._lock:
            if code == "OK":
                body["BizId"] = f"{next(self._biz_ids)}^0"
            self.requests.append(_record(params, code, body.get("BizId", "")))
        return 200, body

    def _check_signature(self, method: str, params: dict[str, str]) -> tuple[int, dict] | None:
        if params.get("AccessKeyId") != self.access_key_id:
            return 404, _error("InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        expected = sign(params, self.secret, method)
        if not hmac.compare_digest(params.get("Signature", ""), expected):
            # Aliyun shows its string to sign, which is what one needs to debug a mismatch.
            return 400, _error(
                "SignatureDoesNotMatch",
                "Specified signature is not matched with our calculation. server string to sign is:"
                + string_to_sign(params, method),
            )
        nonce = params.get("SignatureNonce", "")
        with self._lock:
            if nonce in self._nonces:
                return 400, _error("SignatureNonceUsed", "Specified signature nonce was used already.")
            self._nonces.add(nonce)
        return None

    def _outcome(self, params: dict[str, str]) -> tuple[str, str]:
        with self._lock:
            if self._rate_limited > 0:
                self._rate_limited -= 1
                return "isv.BUSINESS_LIMIT_CONTROL", "触发分钟级流控Permits:1"
        phone = params.get("PhoneNumbers", "")
        if phone in self.invalid_numbers:
            return "isv.MOBILE_NUMBER_ILLEGAL", f"{phone}invalid mobile number"
        if params.get("TemplateCode") in self.unapproved_templates:
            return "isv.SMS_TEMPLATE_ILLEGAL", "模板不合法(不存在或被拉黑)"
        if _template_param(params) is None:
            return "isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值"
        return "OK", "OK"


def _template_param(params: dict[str, str]) -> dict | None:
    """The parsed TemplateParam ({} when absent), or None when it is not a JSON object."""
    try:
        value = json.loads(params.get("TemplateParam") or "{}")
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _record(params: dict[str, str], code: str, biz_id: str) -> dict:
    return {
        "phone": params.get("PhoneNumbers", ""),
        "template_code": params.get("TemplateCode", ""),
        "template_param": _template_param(params),
        "sign_name": params.get("SignName", ""),
        "out_id": params.get("OutId", ""),
        "code": code,
        "biz_id": biz_id,
    }


def _request_id() -> str:
    return str(uuid.uuid4()).upper()


def _error(code: str, message: str) -> dict:
    request_id = _request_id()
    return {
        "RequestId": request_id,
        "Message": message,
        "Recommend": f"https://api.aliyun.com/troubleshoot?q={code}&product=Dysmsapi&requestId={request_id}",
        "HostId": "dysmsapi.aliyuncs.com",
        "Code": code,
    }


_REASONS = {status: status.phrase for status in http.HTTPStatus}


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    # The default backlog of 5 drops connections when a sender opens many at once.
    request_queue_size = 128
    gateway: FakeAliyunGateway

    def handle_error(self, request, client_address) -> None:
        # A client that stopped waiting (a time-out test, a closed pool) is
        # not worth a traceback on stderr.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every answer carries Content-Length
    # Small answers on a kept-alive connection: without this, Nagle's algorithm
    # and the client's delayed ACK add up to 40 ms per request.
    disable_nagle_algorithm = True
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = self.rfile.read(length).decode() if length else ""
        self._answer(form)

    def do_GET(self) -> None:
        self._answer("")

    def _answer(self, form: str) -> None:
        query = urllib.parse.urlsplit(self.path).query
        # Aliyun takes parameters from the query string and the form body alike.
        params = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
        params.update(urllib.parse.parse_qsl(form, keep_blank_values=True))
        status, body = self.server.gateway.answer(self.command, params)
        payload = json.dumps(body, ensure_ascii=False).encode()
        # Head and body in one write (one TCP segment) rather than send_response()
        # and friends: that halves the system calls, the bulk of a request's cost.
        head = (
            f"HTTP/1.1 {status} {_REASONS[status]}\r\n"
            "Content-Type: application/json;charset=utf-8\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n"
        )
        self.wfile.write(head.encode() + payload)

    def log_message(self, format, *args) -> None:
        """Quiet: a benchmark would otherwise print a line per request."""
