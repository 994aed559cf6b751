"""HTML rendering of a provenance report: one printable, self-contained page.

Inline CSS and inline SVG only (no CDN, no scripts), so the file can be
archived, mailed and printed as it is.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import jinja2

from collateral.errors import ProvenanceError


@cache
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("collateral", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(report: dict[str, Any]) -> str:
    """The report as a standalone HTML page."""
    try:
        return (
            _env().get_template("provenance.html.j2").render(b=report["body"], e=report["evidence"])
        )
    except (KeyError, jinja2.TemplateError) as exc:
        raise ProvenanceError(f"cannot render the report: {exc}") from exc
