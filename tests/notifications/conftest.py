"""A real SMTP server (aiosmtpd) on a free loopback port, and settings pointing at it."""

from __future__ import annotations

import email
import email.policy
import socket
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: email.message.EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def text(self) -> str:
        return self.message.get_content()


@dataclass
class Recorder:
    """aiosmtpd handler: keeps every message; can refuse recipients like a real server."""

    messages: list[Received] = field(default_factory=list)
    refuse_recipients_with: str | None = None  # e.g. "550 5.1.1 mailbox unavailable"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse_recipients_with:
            return self.refuse_recipients_with
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.handler = Recorder()
        self._controller: Controller | None = None

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages

    def start(self) -> None:
        assert self._controller is None
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def smtp_server(settings):
    server = SmtpServer(free_port())
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    yield server
    server.stop()
