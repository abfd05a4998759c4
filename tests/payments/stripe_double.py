"""A local HTTP server that speaks the part of Stripe's documented API madoguchi uses.

Not a mock of our code: the provider adapter talks to it over HTTP exactly as it would to
api.stripe.com — form-encoded requests, Bearer keys, Idempotency-Key replays and
conflicts, error objects, Checkout Sessions with a hosted payment page, PaymentIntents
with manual capture, cancellation, refunds, and events signed like Stripe's webhooks
(https://docs.stripe.com/api, https://docs.stripe.com/webhooks#verify-manually).

Test controls: `delay` (answer slowly: timeouts), `fail_next` (5xx answers),
`tamper_amount` (a PaymentIntent for another amount), `auto_capture`.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from madoguchi.payments.contrib.stripe import signature

SECRET_KEY = "sk_test_madoguchi_double"
WEBHOOK_SECRET = "whsec_madoguchi_double"


def decode_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's bracket notation back into nested values: a[b][0][c]=v."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = key.replace("]", "").split("[")
        node: Any = root
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            nxt = None if last else parts[index + 1]
            container_for_next = [] if nxt is not None and (nxt.isdigit() or nxt == "") else {}
            if isinstance(node, list):
                position = int(part) if part.isdigit() else len(node)
                while len(node) <= position:
                    node.append(None)
                if last:
                    node[position] = value
                else:
                    if node[position] is None:
                        node[position] = container_for_next
                    node = node[position]
            else:
                if last:
                    node[part] = value
                else:
                    node = node.setdefault(part, container_for_next)
    return root


class StripeError(Exception):
    def __init__(self, status: int, type_: str, message: str, code: str = "", param: str = ""):
        super().__init__(message)
        self.status = status
        self.body = {"error": {"type": type_, "message": message}}
        if code:
            self.body["error"]["code"] = code
        if param:
            self.body["error"]["param"] = param


@dataclass
class Recorded:
    method: str
    path: str
    params: dict[str, Any]
    idempotency_key: str | None
    replayed: bool = False


@dataclass
class StripeDouble:
    server: ThreadingHTTPServer | None = None
    sessions: dict[str, dict] = field(default_factory=dict)
    intents: dict[str, dict] = field(default_factory=dict)
    refunds: dict[str, dict] = field(default_factory=dict)
    events: list[dict] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    idempotency: dict[str, tuple[str, int, dict]] = field(default_factory=dict)
    delay: float = 0.0
    delay_count: int = 0
    failures: list[int] = field(default_factory=list)
    auto_capture: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    # --- life of the server ----------------------------------------------------------

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        double = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                double._handle(self, "GET")

            def do_POST(self):
                double._handle(self, "POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    # --- test controls ---------------------------------------------------------------

    def slow(self, seconds: float, count: int = 1) -> None:
        self.delay, self.delay_count = seconds, count

    def fail_next(self, status: int = 500, count: int = 1) -> None:
        self.failures.extend([status] * count)

    def tamper_amount(self, intent_id: str, amount: int) -> None:
        self.intents[intent_id]["amount"] = amount
        self.intents[intent_id]["amount_capturable"] = amount

    def calls(self, method: str, path_prefix: str, *, replayed: bool | None = None) -> list:
        return [
            r
            for r in self.requests
            if r.method == method
            and r.path.startswith(path_prefix)
            and (replayed is None or r.replayed == replayed)
        ]

    def pop_events(self) -> list[dict]:
        with self.lock:
            events, self.events = self.events, []
        return events

    @staticmethod
    def signed(event: dict, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None):
        payload = json.dumps(event).encode()
        return payload, signature.header_for(payload, secret, timestamp)

    # --- the resident on the hosted payment page ---------------------------------------

    def pay(self, session_id: str, *, card: str = "success") -> tuple[int, str]:
        """What the resident does on Stripe's page; returns (status, redirect location)."""
        import requests

        response = requests.post(
            f"{self.base_url}/pay/{session_id}",
            data={"card": card},
            allow_redirects=False,
            timeout=5,
        )
        return response.status_code, response.headers.get("Location", "")

    # --- HTTP --------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        url = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length).decode() if length else ""
        pairs = parse_qsl(url.query if method == "GET" else raw, keep_blank_values=True)
        params = decode_form(pairs)
        if url.path.startswith("/pay/"):
            return self._hosted_page(handler, method, url.path[len("/pay/") :], params)
        key = handler.headers.get("Idempotency-Key")
        record = Recorded(method, url.path, params, key)
        with self.lock:
            self.requests.append(record)
        if self.delay_count > 0:
            self.delay_count -= 1
            time.sleep(self.delay)
        if self.failures:
            status = self.failures.pop(0)
            return self._send(
                handler, status, {"error": {"type": "api_error", "message": "An error occurred."}}
            )
        if handler.headers.get("Authorization") != f"Bearer {SECRET_KEY}":
            return self._send(
                handler,
                401,
                {
                    "error": {
                        "type": "invalid_request_error",
                        "message": "Invalid API Key provided.",
                    }
                },
            )
        fingerprint = hashlib.sha256(f"{method} {url.path} {raw}".encode()).hexdigest()
        if method == "POST" and key:
            with self.lock:
                saved = self.idempotency.get(key)
            if saved is not None:
                if saved[0] != fingerprint:
                    return self._send(
                        handler,
                        400,
                        {
                            "error": {
                                "type": "idempotency_error",
                                "message": "Keys for idempotent requests can only be used with the "
                                "same parameters they were first used with.",
                            }
                        },
                    )
                record.replayed = True
                return self._send(handler, saved[1], saved[2], replayed=True)
        try:
            with self.lock:
                status, body = 200, self._route(method, url.path, params)
        except StripeError as exc:
            status, body = exc.status, exc.body
        if method == "POST" and key:
            with self.lock:
                self.idempotency[key] = (fingerprint, status, body)
        return self._send(handler, status, body)

    @staticmethod
    def _send(handler, status: int, body: dict, *, replayed: bool = False) -> None:
        data = json.dumps(body).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            handler.send_header("Request-Id", "req_" + secrets.token_hex(7))
            if replayed:
                handler.send_header("Idempotent-Replayed", "true")
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (a timeout test)

    def _route(self, method: str, path: str, params: dict) -> dict:
        parts = path.strip("/").split("/")
        if parts[:3] == ["v1", "checkout", "sessions"]:
            if method == "POST" and len(parts) == 3:
                return self._create_session(params)
            session = self._object(self.sessions, parts[3], "checkout session")
            if method == "GET" and len(parts) == 4:
                expand = params.get("expand") or []
                result = dict(session)
                if "payment_intent" in expand and session["payment_intent"]:
                    result["payment_intent"] = dict(self.intents[session["payment_intent"]])
                return result
            if method == "POST" and parts[4:] == ["expire"]:
                if session["status"] != "open":
                    raise StripeError(
                        400,
                        "invalid_request_error",
                        "This Checkout Session is not in an expirable state.",
                    )
                session["status"] = "expired"
                self._event("checkout.session.expired", session)
                return session
        if parts[:2] == ["v1", "payment_intents"] and len(parts) >= 3:
            intent = self._object(self.intents, parts[2], "payment intent")
            if method == "GET" and len(parts) == 3:
                return intent
            if method == "POST" and parts[3:] == ["capture"]:
                return self._capture(intent, params)
            if method == "POST" and parts[3:] == ["cancel"]:
                if intent["status"] not in ("requires_capture", "requires_payment_method"):
                    raise StripeError(
                        400,
                        "invalid_request_error",
                        f"This PaymentIntent's status is {intent['status']}.",
                        code="payment_intent_unexpected_state",
                    )
                intent["status"] = "canceled"
                intent["amount_capturable"] = 0
                self._event("payment_intent.canceled", intent)
                return intent
        if parts[:2] == ["v1", "refunds"]:
            if method == "POST" and len(parts) == 2:
                return self._refund(params)
            if method == "GET" and len(parts) == 3:
                return self._object(self.refunds, parts[2], "refund")
        raise StripeError(404, "invalid_request_error", f"Unrecognized request URL ({path}).")

    @staticmethod
    def _object(store: dict, key: str, what: str) -> dict:
        if key not in store:
            raise StripeError(
                404, "invalid_request_error", f"No such {what}: '{key}'", code="resource_missing"
            )
        return store[key]

    def _event(self, type_: str, obj: dict) -> None:
        self.events.append(
            {
                "id": "evt_" + secrets.token_hex(12),
                "object": "event",
                "api_version": "2024-06-20",
                "created": int(time.time()),
                "livemode": False,
                "type": type_,
                "data": {"object": json.loads(json.dumps(obj))},
            }
        )

    def _create_session(self, params: dict) -> dict:
        for required in ("success_url", "cancel_url", "line_items", "mode"):
            if required not in params:
                raise StripeError(
                    400,
                    "invalid_request_error",
                    f"Missing required param: {required}.",
                    param=required,
                )
        amount = 0
        for item in params["line_items"]:
            price = item.get("price_data") or {}
            if price.get("currency") != "jpy" or not str(price.get("unit_amount", "")).isdigit():
                raise StripeError(
                    400, "invalid_request_error", "Invalid price_data.", param="line_items"
                )
            amount += int(price["unit_amount"]) * int(item.get("quantity", 1))
        expires_at = int(params.get("expires_at", time.time() + 86400))
        if not time.time() + 1800 - 5 <= expires_at <= time.time() + 86400:
            raise StripeError(
                400,
                "invalid_request_error",
                "The `expires_at` timestamp must be between 30 minutes and 24 "
                "hours from Checkout Session creation.",
                param="expires_at",
            )
        session_id = "cs_test_" + secrets.token_hex(16)
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": params["mode"],
            "status": "open",
            "payment_status": "unpaid",
            "amount_total": amount,
            "currency": "jpy",
            "client_reference_id": params.get("client_reference_id"),
            "metadata": params.get("metadata") or {},
            "payment_intent": None,
            "success_url": params["success_url"],
            "cancel_url": params["cancel_url"],
            "expires_at": expires_at,
            "url": f"{self.base_url}/pay/{session_id}",
            "_intent_data": params.get("payment_intent_data") or {},
        }
        self.sessions[session_id] = session
        return {k: v for k, v in session.items() if not k.startswith("_")}

    def _capture(self, intent: dict, params: dict) -> dict:
        if intent["status"] != "requires_capture":
            raise StripeError(
                400,
                "invalid_request_error",
                f"This PaymentIntent could not be captured because it has a "
                f"status of {intent['status']}.",
                code="payment_intent_unexpected_state",
            )
        amount = int(params.get("amount_to_capture", intent["amount_capturable"]))
        intent.update(status="succeeded", amount_received=amount, amount_capturable=0)
        self._event("payment_intent.succeeded", intent)
        return intent

    def _refund(self, params: dict) -> dict:
        intent = self._object(self.intents, params.get("payment_intent", ""), "payment intent")
        if intent["status"] != "succeeded":
            raise StripeError(400, "invalid_request_error", "This PaymentIntent has no charge.")
        refunded = sum(
            r["amount"]
            for r in self.refunds.values()
            if r["payment_intent"] == intent["id"] and r["status"] == "succeeded"
        )
        amount = int(params.get("amount", intent["amount_received"] - refunded))
        if amount <= 0 or refunded + amount > intent["amount_received"]:
            raise StripeError(
                400,
                "invalid_request_error",
                f"Refund amount ({amount}) is greater than the unrefunded amount.",
                code="amount_too_large",
            )
        refund = {
            "id": "re_" + secrets.token_hex(12),
            "object": "refund",
            "amount": amount,
            "currency": "jpy",
            "payment_intent": intent["id"],
            "reason": params.get("reason"),
            "status": "succeeded",
            "metadata": params.get("metadata") or {},
        }
        self.refunds[refund["id"]] = refund
        self._event("refund.created", refund)
        return refund

    def _hosted_page(self, handler, method: str, session_id: str, params: dict) -> None:
        with self.lock:
            session = self.sessions.get(session_id)
            if session is None or session["status"] != "open":
                return self._html(handler, 410, "このお支払いは終了しています。")
            if method == "GET":
                # Stripe's hosted page, reduced to what a test needs: a card that works
                # and one that is declined.
                return self._html(
                    handler,
                    200,
                    f"{session['amount_total']}円のお支払い</p>"
                    f'<form method="post"><label for="card">カード</label>'
                    f'<select id="card" name="card"><option value="success">4242</option>'
                    f'<option value="decline">0002</option></select>'
                    f'<button type="submit">支払う</button></form><p>',
                )
            intent_data = session["_intent_data"]
            intent = self.intents.get(session["payment_intent"] or "") or {
                "id": "pi_test_" + secrets.token_hex(12),
                "object": "payment_intent",
                "amount": session["amount_total"],
                "currency": "jpy",
                "capture_method": intent_data.get("capture_method", "automatic"),
                "metadata": intent_data.get("metadata") or {},
                "amount_capturable": 0,
                "amount_received": 0,
            }
            self.intents[intent["id"]] = intent
            session["payment_intent"] = intent["id"]
            if params.get("card") == "decline":
                intent["status"] = "requires_payment_method"
                intent["last_payment_error"] = {"code": "card_declined"}
                self._event("payment_intent.payment_failed", intent)
                return self._html(handler, 402, "カードが使えませんでした。")
            if intent["capture_method"] == "manual" and not self.auto_capture:
                intent.update(status="requires_capture", amount_capturable=intent["amount"])
                self._event("payment_intent.amount_capturable_updated", intent)
            else:
                intent.update(status="succeeded", amount_received=intent["amount"])
                session["payment_status"] = "paid"
                self._event("payment_intent.succeeded", intent)
            session["status"] = "complete"
            self._event(
                "checkout.session.completed",
                {k: v for k, v in session.items() if not k.startswith("_")},
            )
            location = session["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id)
        handler.send_response(303)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    @staticmethod
    def _html(handler, status: int, text: str) -> None:
        data = f"<!DOCTYPE html><html lang=ja><title>pay</title><p>{text}</p>".encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
