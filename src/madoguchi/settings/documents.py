"""Issued documents (fonts, signing keys, timestamps) and applicants' signatures."""

from __future__ import annotations

from .core import DATA_DIR
from .env import env_bool, env_int, env_list, env_str

# The fonts embedded in every issued PDF, by file path: a document must never depend on
# which fonts the host happens to have. Debian: fonts-morisawa-bizud-gothic and
# fonts-ipamj-mincho (`make system-deps`). IPAmj明朝 covers the 外字 of names (𠮷, 髙, 﨑).
MADOGUCHI_FONT_GOTHIC = env_str(
    "MADOGUCHI_FONT_GOTHIC", "/usr/share/fonts/truetype/bizud-gothic/BIZUDGothic-Regular.ttf"
)
MADOGUCHI_FONT_GOTHIC_BOLD = env_str(
    "MADOGUCHI_FONT_GOTHIC_BOLD", "/usr/share/fonts/truetype/bizud-gothic/BIZUDGothic-Bold.ttf"
)
MADOGUCHI_FONT_MINCHO = env_str(
    "MADOGUCHI_FONT_MINCHO", "/usr/share/fonts/truetype/ipamj/ipamjm.ttf"
)

# Signing keys per body (PKCS#12 or PKCS#11), the timestamp authority and the trust anchors
# of verification: a TOML file, see docs/issuance.md. Without it, and only with the demo
# identity on, a clearly marked demo CA and a signer per body are generated under var/.
MADOGUCHI_SIGNING_CONFIG = env_str("MADOGUCHI_SIGNING_CONFIG", "")
MADOGUCHI_SIGNING_DEMO_DIR = DATA_DIR / "signing" / "demo"
# RFC 3161 timestamp authority: PAdES B-T instead of B-B (overrides the TOML file's url).
MADOGUCHI_TSA_URL = env_str("MADOGUCHI_TSA_URL", "")
# The roots of the TSA's certificate: needed to embed its revocation data too (B-LT).
MADOGUCHI_TSA_TRUST_ANCHORS = env_list("MADOGUCHI_TSA_TRUST_ANCHORS", [])
# Largest PDF the public verification page and API accept.
MADOGUCHI_VERIFY_MAX_BYTES = env_int("MADOGUCHI_VERIFY_MAX_BYTES", 20 * 1024 * 1024)

# Applicants' signatures (電子署名): the CAs whose certificates are accepted (JPKI's
# 署名用認証局 in production), CRL files, and whether OCSP / CRL distribution points are
# fetched online. With either revocation source configured, a certificate whose status
# cannot be established is "indeterminate", never "valid".
MADOGUCHI_ESIGN_TRUST_ANCHORS = env_list("MADOGUCHI_ESIGN_TRUST_ANCHORS", [])
MADOGUCHI_ESIGN_INTERMEDIATES = env_list("MADOGUCHI_ESIGN_INTERMEDIATES", [])
MADOGUCHI_ESIGN_CRL_FILES = env_list("MADOGUCHI_ESIGN_CRL_FILES", [])
MADOGUCHI_ESIGN_FETCH_REVOCATION = env_bool("MADOGUCHI_ESIGN_FETCH_REVOCATION", False)
MADOGUCHI_ESIGN_DEMO_DIR = DATA_DIR / "esign" / "demo"
MADOGUCHI_ESIGN_MAX_BYTES = env_int("MADOGUCHI_ESIGN_MAX_BYTES", 10 * 1024 * 1024)
