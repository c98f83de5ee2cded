"""What every PDF of the portal shares: the templates folder, the Jinja environment for the
``templates/pdf/`` documents, and WeasyPrint's stylesheet and fonts, parsed once per process.

The receipt (:mod:`portale.procedures.receipt`) and the acts (:mod:`portale.cases.acts`) use
``receipt.css``; their fonts load with the stylesheet (``@font-face``).
"""

from __future__ import annotations

import functools
from typing import Any

import jinja2
from flask_babel import gettext

from portale.config import PROJECT_ROOT

TEMPLATES = PROJECT_ROOT / "templates"
STATIC = PROJECT_ROOT / "portale" / "static"


@functools.cache
def jinja_env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html"]),
    )
    env.globals["_"] = gettext
    env.filters["it_date"] = lambda d: d.strftime("%d/%m/%Y") if d else ""
    return env


@functools.cache
def weasy_fonts_and_css(stylesheet: str = "receipt.css") -> tuple[Any, Any]:
    """(FontConfiguration, CSS) for ``templates/pdf/<stylesheet>``."""
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    fonts = FontConfiguration()
    css = CSS(
        filename=str(TEMPLATES / "pdf" / stylesheet), font_config=fonts, base_url=str(STATIC) + "/"
    )
    return fonts, css
