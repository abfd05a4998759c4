from __future__ import annotations

import pytest

from .pki import CA


@pytest.fixture(scope="session")
def jpki():
    """A CA standing in for JPKI's 署名用認証局, with the signers the verdicts need."""
    import datetime as dt

    from .pki import NOW

    ca = CA("テスト 署名用認証局")
    signer = ca.issue("テスト 花子")
    revoked = ca.issue("テスト 失効")
    ca.revoke(revoked)
    expired = ca.issue(
        "テスト 期限切れ",
        not_before=NOW - dt.timedelta(days=400),
        not_after=NOW - dt.timedelta(days=5),
    )
    future = ca.issue(
        "テスト 未来", not_before=NOW + dt.timedelta(days=5), not_after=NOW + dt.timedelta(days=400)
    )
    return {"ca": ca, "signer": signer, "revoked": revoked, "expired": expired, "future": future}


@pytest.fixture
def trusted(settings, tmp_path, jpki):
    """The test CA as the configured trust anchor."""
    settings.MADOGUCHI_ESIGN_TRUST_ANCHORS = [str(jpki["ca"].write_pem(tmp_path / "jpki-ca.pem"))]
    settings.MADOGUCHI_ESIGN_CRL_FILES = []
    settings.MADOGUCHI_ESIGN_FETCH_REVOCATION = False
    return jpki


@pytest.fixture
def with_crl(trusted, settings, tmp_path):
    path = tmp_path / "jpki.crl"
    path.write_bytes(trusted["ca"].crl())
    settings.MADOGUCHI_ESIGN_CRL_FILES = [str(path)]
    return trusted
