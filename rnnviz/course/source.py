"""Show an equation beside the line of code that computes it.

``equations_beside_code(fn, [(r"c_t = f_t c_{t-1} + (1 - f_t) \\tilde x_t", "c_new ="), ...])``
finds, in ``fn``'s source, the first line containing each snippet (in order, each search
starting after the previous match) and lays out a two-column table: the equation (LaTeX,
typeset by the notebook) and that line of the real source, numbered as in the file.
"""
from __future__ import annotations

import html
import inspect
from typing import Callable, Sequence

__all__ = ["find_lines", "equations_beside_code", "EquationsBesideCode"]


def find_lines(fn: Callable, snippets: Sequence[str], strict: bool = True) -> list[tuple[int, str]]:
    """(line number in the file, the line) for each snippet, searched in order. A snippet
    not found raises (``strict``) or gives (0, a note saying so)."""
    lines, first = inspect.getsourcelines(fn)
    out, start = [], 0
    for snip in snippets:
        for i in range(start, len(lines)):
            if snip in lines[i]:
                out.append((first + i, lines[i].rstrip()))
                start = i + 1
                break
        else:
            if not strict:
                out.append((0, f"(not found in the current source: {snip!r})"))
                continue
            raise ValueError(f"{snip!r} is not in the source of {fn.__qualname__} "
                             f"(after line {first + start}); the code changed?")
    return out


class EquationsBesideCode:
    """What :func:`equations_beside_code` returns: displays as an HTML table."""

    def __init__(self, fn: Callable, rows: list[tuple[str, int, str]]):
        self.fn, self.rows = fn, rows

    def _repr_html_(self) -> str:
        path = inspect.getsourcefile(self.fn) or "?"
        short = path[path.find("rnnviz/"):] if "rnnviz/" in path else path
        body = "".join(
            f"<tr><td style='text-align:left;padding:4px 12px'>$${eq}$$</td>"
            f"<td style='text-align:left;padding:4px 12px'><code style='white-space:pre'>"
            f"{n:>4}  {html.escape(line.strip())}</code></td></tr>"
            for eq, n, line in self.rows)
        return (f"<table><tr><th style='text-align:left'>the paper</th><th style='text-align:left'>"
                f"<code>{html.escape(self.fn.__qualname__)}</code> in {html.escape(short)}"
                f"</th></tr>{body}</table>")

    def __repr__(self) -> str:
        return "\n".join(f"{eq:<60} | {n:>4}  {line.strip()}" for eq, n, line in self.rows)


def equations_beside_code(fn: Callable, pairs: Sequence[tuple[str, str]]) -> EquationsBesideCode:
    """Pair each (LaTeX equation, code snippet) with the source line that has the snippet."""
    found = find_lines(fn, [snip for _, snip in pairs], strict=False)
    return EquationsBesideCode(fn, [(eq, n, line) for (eq, _), (n, line) in zip(pairs, found)])
