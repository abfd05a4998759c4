"""A software WebAuthn authenticator (a passkey with user verification), built from fido2's
data classes and an EC P-256 key: what a phone or a security key would answer, byte for
byte, to allauth's registration and authentication options."""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fido2 import cose
from fido2.utils import websafe_decode, websafe_encode
from fido2.webauthn import (
    AttestationObject,
    AttestedCredentialData,
    AuthenticatorData,
    CollectedClientData,
)

FLAGS = AuthenticatorData.FLAG


def js_data(html: str) -> dict:
    """The options allauth puts in the page for its script (`json_script` "js_data")."""
    match = re.search(r'<script id="js_data" type="application/json">(.*?)</script>', html, re.S)
    assert match, "no WebAuthn options in the page"
    return json.loads(match.group(1))


def _b64(data: bytes) -> str:
    return websafe_encode(data)


@dataclass
class SoftwareAuthenticator:
    origin: str = "https://testserver"
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    credential_id: bytes = field(default_factory=lambda: os.urandom(16))
    user_handle: bytes = b""
    counter: int = 0
    user_verified: bool = True

    def _flags(self) -> AuthenticatorData.FLAG:
        flags = FLAGS.UP
        if self.user_verified:
            flags |= FLAGS.UV
        return flags

    def register(self, creation_options: dict) -> str:
        """The `credential` field of allauth's add/sign-up form."""
        options = creation_options["publicKey"]
        rp_id = options["rp"]["id"]
        self.user_handle = websafe_decode(options["user"]["id"])
        credential = AttestedCredentialData.create(
            b"\0" * 16, self.credential_id, cose.ES256.from_cryptography_key(self.key.public_key())
        )
        auth_data = AuthenticatorData.create(
            hashlib.sha256(rp_id.encode()).digest(),
            self._flags() | FLAGS.AT,
            self.counter,
            credential,
        )
        client_data = CollectedClientData.create(
            type="webauthn.create",
            challenge=websafe_decode(options["challenge"]),
            origin=self.origin,
        )
        attestation = AttestationObject.create("none", auth_data, {})
        return json.dumps(
            {
                "type": "public-key",
                "id": _b64(self.credential_id),
                "rawId": _b64(self.credential_id),
                "authenticatorAttachment": "platform",
                "response": {
                    "clientDataJSON": _b64(bytes(client_data)),
                    "attestationObject": _b64(bytes(attestation)),
                    "transports": ["internal"],
                },
                "clientExtensionResults": {"credProps": {"rk": True}},
            }
        )

    def authenticate(self, request_options: dict) -> str:
        """The `credential` field of allauth's log-in or authenticate form."""
        options = request_options["publicKey"]
        rp_id = options.get("rpId") or "testserver"
        self.counter += 1
        auth_data = bytes(
            AuthenticatorData.create(
                hashlib.sha256(rp_id.encode()).digest(), self._flags(), self.counter
            )
        )
        client_data = bytes(
            CollectedClientData.create(
                type="webauthn.get",
                challenge=websafe_decode(options["challenge"]),
                origin=self.origin,
            )
        )
        signature = self.key.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        return json.dumps(
            {
                "type": "public-key",
                "id": _b64(self.credential_id),
                "rawId": _b64(self.credential_id),
                "authenticatorAttachment": "platform",
                "response": {
                    "clientDataJSON": _b64(client_data),
                    "authenticatorData": _b64(auth_data),
                    "signature": _b64(signature),
                    "userHandle": _b64(self.user_handle),
                },
                "clientExtensionResults": {},
            }
        )
