"""Sphinx configuration: MyST pages, autodoc for the API, the furo theme.

Build with ``sphinx-build -n -W -b html docs docs/_build/html``: every reference must
resolve and any warning fails the build.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sphinx.util.nodes import make_refnode

import careaccess

if TYPE_CHECKING:
    from docutils.nodes import Element
    from sphinx.application import Sphinx
    from sphinx.environment import BuildEnvironment

project = "careaccess"
author = "careaccess contributors"
copyright = "careaccess contributors"
release = careaccess.__version__
version = release

extensions = ["myst_parser", "sphinx.ext.autodoc"]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

html_theme = "furo"
html_title = f"careaccess {release}"

autodoc_member_order = "bysource"
autodoc_typehints = "signature"

nitpicky = True
# Without network access there is no intersphinx, so the standard library's and
# pluggy's and cattrs' types in signatures cannot resolve: ignore exactly those.
nitpick_ignore = [
    ("py:class", "cattrs.converters.Converter"),
    ("py:class", "collections.abc.Awaitable"),
    ("py:class", "collections.abc.Callable"),
    ("py:class", "collections.abc.Iterable"),
    ("py:class", "collections.abc.Iterator"),
    ("py:class", "collections.abc.Mapping"),
    ("py:class", "collections.abc.Sequence"),
    ("py:class", "datetime.date"),
    ("py:class", "datetime.datetime"),
    ("py:class", "enum.StrEnum"),
    ("py:class", "pathlib.Path"),
    ("py:class", "pluggy._manager.PluginManager"),
    ("py:class", "PluginManager"),  # pluggy's, as hookspecs.py's docstrings name it
    ("py:meth", "PluginManager.add_hookspecs"),
    ("py:meth", "PluginManager.register"),
    ("py:class", "zoneinfo.ZoneInfo"),
    ("py:meth", "str.casefold"),
    ("py:meth", "str.isprintable"),
    ("py:attr", "datetime.date.max"),
    ("py:obj", "careaccess.models.T"),
    ("py:class", "careaccess.aio.store.T"),  # type variables of generic helpers
    ("py:class", "careaccess.validation._T"),  # the type variable of Page[T]
]


def _documented_name(target: str, objects: dict[str, Any]) -> str | None:
    """The documented full name a docstring's short reference means, or None.

    ``careaccess.X...`` names a top-level re-export: look up where ``X`` is defined.
    Otherwise the name must end exactly one documented careaccess name.
    """
    short = target.removeprefix("careaccess.")
    head, _, rest = short.partition(".")
    module = getattr(getattr(careaccess, head, None), "__module__", "") if short != target else ""
    if module.startswith("careaccess."):  # classes and functions know where they are defined
        full = ".".join(part for part in (module, head, rest) if part)
        return full if full in objects else None
    matches = [name for name in objects if name.startswith("careaccess.") and name.endswith("." + short)]
    return matches[0] if len(matches) == 1 else None


def _resolve_short_names(app: Sphinx, env: BuildEnvironment, node: Element, contnode: Element) -> Element | None:
    """Resolve ``:class:`StoreUnavailable``` or ``:func:`careaccess.connect``` in a docstring.

    Docstrings name careaccess's objects as a reader imports them; the reference
    documents them under their defining module. An ambiguous or unknown name stays
    unresolved, so nitpicky mode still reports it.
    """
    if node.get("refdomain") != "py":
        return None
    objects = env.get_domain("py").objects  # type: ignore[attr-defined]
    name = _documented_name(node["reftarget"].lstrip(".~"), objects)
    if name is None:
        return None
    found = objects[name]
    return make_refnode(app.builder, node["refdoc"], found.docname, found.node_id, contnode, name)


def setup(app: Sphinx) -> None:
    app.connect("missing-reference", _resolve_short_names)
