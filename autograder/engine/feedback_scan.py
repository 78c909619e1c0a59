"""Does a text hold code or a formula? The detector every feedback text must pass.

Feedback may name functions, outputs, shapes and ideas in words ("the
derivative of tanh is easiest to get from its output"); it may not hold
solution code or an output's formula: an assignment (``dx = ...``), a call
(``np.tanh(...)``, ``range(T)``), numpy, indexing (``W[x]``, ``h[:, t]``),
matrix or power operators, a transpose, an arithmetic expression between
names (``o * tanh_c``, ``1 - next_h``). Names of outputs in quotes
(``grads['W_proj']``), shapes ``(N, T, H)`` and numbers (``1/N``, ``2.0e-01``)
are allowed.

``code_in(text)`` lists what it finds; the measurement of issue 18 and the
tests import it from here.
"""

from __future__ import annotations

import re

NAME = r"[A-Za-z_]\w*"
PATTERNS = {
    "assignment": re.compile(rf"\b{NAME}(\[[^\]]*\])?\s*([-+*/@]|\*\*)?=(?!=)\s*\S"),
    "comparison": re.compile(rf"\b{NAME}\s*(==|!=)\s*\S"),
    "call": re.compile(rf"\b{NAME}(\.{NAME})*\("),
    "numpy": re.compile(r"\bnp\.|\bnumpy\.\w"),
    "indexing": re.compile(rf"\b{NAME}\[(?!['\"])"),
    "operator": re.compile(r"@|\*\*|\+=|-=|\*="),
    "transpose": re.compile(rf"\b{NAME}\.T\b"),
    "keyword argument": re.compile(r"\b(axis|dtype|keepdims)\s*="),
    "product": re.compile(r"[\w)\]]\s*\*\s*[\w(]"),
    "division": re.compile(rf"\b{NAME}\s*/\s*[\w(]"),
    "sum": re.compile(rf"(\b{NAME}|\b\d+(\.\d+)?)\s+[-+]\s+({NAME}|\d|\()"),
}


def code_in(text: str) -> list[str]:
    """'kind: match' for every piece of code or formula in `text` (empty: none)."""
    found = []
    for kind, pattern in PATTERNS.items():
        found += [f"{kind}: {m.group(0)!r}" for m in pattern.finditer(text)]
    return found
