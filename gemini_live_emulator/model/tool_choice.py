"""Which declared function the caller's words ask for, and its arguments from the same words.

The emulated model has no language model; it matches words. The scoring, in full:

- The caller's words (recognised speech and typed text of the turn) are lower-cased, split,
  stripped of common words (:data:`STOPWORDS`) and reduced to a crude stem (a trailing ``s``
  dropped).
- Each declared function is scored by the distinct stems it shares with them:
  **3** per word of its name (``get_weather`` -> ``weather``; ``get``/``set``/``list`` and the
  like are stopwords), **2** per parameter name, **1** per other word of its description.
- The best function is called if it scores at least :data:`MIN_SCORE` (3: one word of its name,
  or a parameter name and a description word); ties go to the first declared.

Arguments, per parameter of the chosen function's schema:

- ``enum``: the first enum value whose words were all said;
- ``INTEGER`` / ``NUMBER``: the first number said (digits or English number words, "twenty one");
- ``BOOLEAN``: "yes"/"true" -> true, "no"/"false" -> false;
- ``STRING``: the words after the last of "in", "for", "at", "near", "to", "from", "about"
  that are not stopwords nor words of the function, title-cased ("weather in new york" ->
  "New York");
- otherwise the schema's ``default`` when it has one; else the parameter is left out.

A function whose ``required`` parameters cannot all be filled is not called (the model would
ask first). Nothing here knows any test: it reads only the declarations and the words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MIN_SCORE = 3
STOPWORDS = frozenset(
    """a an the is are was were be been am i me my you your we our it its this that these those
    what whats what's which who how when where why do does did can could would should will shall
    may might must please tell give show let lets let's get set list fetch find check look up
    current now today like of and or but if then so just some any to in for at on by with from
    near about into out over under there here hi hello hey okay ok oh um uh yes no not""".split()
)
_PLACE_WORDS = ("in", "for", "at", "near", "to", "from", "about")
_UNITS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen".split())}
_TENS = {w: 10 * (i + 2) for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())}


@dataclass(frozen=True)
class ToolChoice:
    """A function the words asked for: ``name``, ``args`` filled from the words, ``score``."""

    name: str
    args: dict
    score: int


def words_of(text: str) -> list[str]:
    """Lower-case words of ``text``; snake_case and camelCase identifiers are split."""
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", text or "")
    return re.findall(r"[a-z0-9']+", text.lower().replace("_", " "))


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _content(words: list[str]) -> set[str]:
    return {_stem(w) for w in words if w not in STOPWORDS}


def _schema(declaration: dict) -> dict:
    for key in ("parameters", "parametersJsonSchema", "parameters_json_schema"):
        value = declaration.get(key)
        if isinstance(value, dict):
            return value
    return {}


def score(heard: set[str], declaration: dict) -> int:
    """The score of one function declaration (a ``functionDeclarations`` entry) for ``heard``."""
    name = _content(words_of(str(declaration.get("name", ""))))
    props = _schema(declaration).get("properties")
    params = _content([w for p in (props if isinstance(props, dict) else {}) for w in words_of(str(p))])
    description = _content(words_of(str(declaration.get("description", "")))) - name - params
    return 3 * len(heard & name) + 2 * len(heard & params) + len(heard & description)


def choose(text: str, declarations: list[dict]) -> ToolChoice | None:
    """The function ``text`` asks for among ``declarations``, or None.

    Args:
        text: What the caller said (recognised words) and typed, in order.
        declarations: The session's ``functionDeclarations`` (wire dicts).
    """
    words = words_of(text)
    heard = _content(words)
    if not heard:
        return None
    best, best_score = None, 0
    for declaration in declarations:
        if not isinstance(declaration, dict) or not declaration.get("name"):
            continue
        s = score(heard, declaration)
        if s > best_score:
            best, best_score = declaration, s
    if best is None or best_score < MIN_SCORE:
        return None
    args = fill_args(words, best)
    schema = _schema(best)
    required = schema.get("required") if isinstance(schema.get("required"), list) else []
    if any(r not in args for r in required):
        return None
    return ToolChoice(str(best["name"]), args, best_score)


def fill_args(words: list[str], declaration: dict) -> dict:
    """Arguments for ``declaration`` from the caller's ``words`` (see the module's rules)."""
    props = _schema(declaration).get("properties")
    own = set(words_of(str(declaration.get("name", "")))) | set(words_of(str(declaration.get("description", ""))))
    args = {}
    for param, spec in (props if isinstance(props, dict) else {}).items():
        spec = spec if isinstance(spec, dict) else {}
        kind = str(spec.get("type", "STRING")).upper()
        value = None
        if isinstance(spec.get("enum"), list):
            value = next((e for e in spec["enum"] if words_of(str(e)) and _said(words, words_of(str(e)))), None)
        elif kind in ("INTEGER", "NUMBER"):
            number = first_number(words)
            if number is not None:
                value = int(number) if kind == "INTEGER" else number
        elif kind == "BOOLEAN":
            value = next(({"yes": True, "true": True, "no": False, "false": False}[w] for w in words
                          if w in ("yes", "true", "no", "false")), None)
        elif kind == "STRING":
            value = _place(words, own)
        if value is None and "default" in spec:
            value = spec["default"]
        if value is not None:
            args[param] = value
    return args


def _said(words: list[str], phrase: list[str]) -> bool:
    n = len(phrase)
    return any(words[i : i + n] == phrase for i in range(len(words) - n + 1))


def _place(words: list[str], own: set[str]) -> str | None:
    last = max((i for i, w in enumerate(words) if w in _PLACE_WORDS), default=None)
    if last is None:
        return None
    tail = []
    for w in words[last + 1 :]:
        if w in STOPWORDS or w in own:
            if tail:
                break
            continue
        tail.append(w)
    return " ".join(w.capitalize() for w in tail) or None


def first_number(words: list[str]) -> float | None:
    """The first number in ``words``: digits ("21") or words ("twenty one", "a hundred").

    A decimal survives only in words split on spaces: :func:`words_of` splits "3.5" in two."""
    for i, w in enumerate(words):
        if re.fullmatch(r"\d+(\.\d+)?", w):
            return float(w) if "." in w else int(w)
        if w in _UNITS or w in _TENS or w == "hundred":
            total, current = 0, 0
            for v in words[i:]:
                if v in _UNITS:
                    current += _UNITS[v]
                elif v in _TENS:
                    current += _TENS[v]
                elif v == "hundred":
                    current = max(current, 1) * 100
                elif v == "and" and current:
                    continue
                else:
                    break
            return total + current
    return None
