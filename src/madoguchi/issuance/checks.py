"""Start-up checks (`madoguchi check`, runserver, migrate): fonts and signing keys."""

from __future__ import annotations

from django.core.checks import Error, Tags, Warning, register


@register(Tags.compatibility)
def fonts_installed(app_configs, **kwargs):
    from .fonts import missing_fonts

    return [
        Error(
            f"Font for issued documents not found: {font.path}",
            hint=(
                "Install Debian's fonts-morisawa-bizud-gothic and fonts-ipamj-mincho "
                f"(make system-deps) or set {font.setting} to a TrueType file."
            ),
            id="issuance.E001",
        )
        for font in missing_fonts()
    ]


@register(Tags.compatibility)
def signing_configuration(app_configs, **kwargs):
    from .keys import SigningConfigError, load_config

    try:
        config = load_config()
    except SigningConfigError as exc:
        return [Error(str(exc), id="issuance.E002")]
    problems = []
    for where, spec in [("default", config.default), *config.bodies.items()]:
        if spec is None:
            continue
        for path in (spec.pkcs12, spec.passphrase_file, spec.cert_file, spec.pin_file):
            if path is not None and not path.is_file():
                problems.append(
                    Error(f"signing key [{where}]: file not found: {path}", id="issuance.E003")
                )
    return problems


@register(Tags.security, deploy=True)
def demo_signing_key(app_configs, **kwargs):
    from .keys import SigningConfigError, load_config

    try:
        demo = load_config().demo
    except SigningConfigError:
        return []
    if not demo:
        return []
    return [
        Warning(
            "Issued documents are signed with the generated DEMO key (var/signing/demo).",
            hint="Set MADOGUCHI_SIGNING_CONFIG for real keys; see docs/issuance.md.",
            id="issuance.W001",
        )
    ]
