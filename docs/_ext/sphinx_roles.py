"""Griffe extension for the API reference: Sphinx-style roles in the docstrings become links.

autonas's docstrings are Google style but refer to other objects the Sphinx way
(``:class:`~autonas.graph.Graph```, ``:meth:`fit```). mkdocstrings would print
those roles literally. This extension rewrites each role, once the package is
loaded, into an *optional* mkdocs-autorefs cross-reference: a link when the
target is documented on the site, plain code otherwise (no warning, so
``mkdocs build --strict`` is unaffected by references to objects outside the
reference, such as ``time.perf_counter``). Relative targets (``fit``,
``Objective.reward``) are resolved in the scope of the documented object.

It also turns reStructuredText's literal-block marker (a line ending in ``::``)
into a single colon, since Markdown needs no marker before an indented block.

Registered in mkdocs.yml under the mkdocstrings Python handler's ``extensions``.
"""

from __future__ import annotations

import html
import re
from typing import Any

import griffe

#: ``:role:`target``` or ``:role:`~target```.
_ROLE = re.compile(r":(?:py:)?(?:class|meth|func|data|attr|mod|exc|obj|const):`(?P<tilde>~?)(?P<target>[\w.]+)(?:\(\))?`")
#: A line ending in ``::`` after some text (the reST literal-block marker).
_LITERAL_MARKER = re.compile(r"(?<=\S)::$", flags=re.MULTILINE)


def _resolve(obj: griffe.Object, target: str) -> str:
    """The full path of ``target`` seen from ``obj`` (``target`` itself when it cannot be resolved)."""
    if target.startswith("autonas."):
        return target
    head, _, rest = target.partition(".")
    for scope in (obj, obj.parent):
        if scope is None:
            continue
        try:
            resolved = scope.resolve(head)
        except Exception:  # noqa: BLE001 - NameResolutionError, alias errors: leave it unresolved
            continue
        return f"{resolved}.{rest}" if rest else resolved
    return target


def _rewrite(obj: griffe.Object, text: str) -> str:
    def replace(match: re.Match) -> str:
        target = match["target"]
        shown = target.rsplit(".", 1)[-1] if match["tilde"] else target
        identifier = _resolve(obj, target)
        return f'<autoref identifier="{html.escape(identifier)}" optional><code>{html.escape(shown)}</code></autoref>'

    return _LITERAL_MARKER.sub(":", _ROLE.sub(replace, text))


class SphinxRoles(griffe.Extension):
    """Rewrite Sphinx roles into optional autorefs in every docstring of the loaded package."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:  # noqa: ARG002
        seen: set[int] = set()
        stack: list[griffe.Object] = [pkg]
        while stack:
            obj = stack.pop()
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            if obj.docstring is not None:
                obj.docstring.value = _rewrite(obj, obj.docstring.value)
            stack.extend(member for member in obj.members.values() if not member.is_alias)
