"""JustRL's rule grader, as a thin adapter over the pinned ``mathruler`` package.

What is JustRL's logic, and where it comes from here:

* The verdict. JustRL's ``evals/utils.py`` accepts an answer when
  ``grade_answer_mathd(answer, gold) or grade_answer_sympy(answer, gold)``:
  the PRM800K grader with Hendrycks' MATH normaliser (string equality of the
  normalised forms, else sympy on the difference, with its quirks: tuples
  element-wise, an integer gold demands an integer, unreduced fractions
  compared as strings, no sympy on ``^{``, ``^(`` or more than two letters).
  ``mathruler.grader.grade_answer(given, ground_truth)`` (``mathruler==0.1.0``,
  pinned in pyproject.toml) ships exactly that grader, and it is called here
  unchanged. Nothing of it is re-implemented in this project.

What is ours:

* The extraction (:func:`extract_answer`, :func:`unwrap_gold`), written for
  this project to JustRL's semantics (those of the Hendrycks MATH
  ``last_boxed_only_string`` + ``remove_boxed`` pair that JustRL's utils
  descend from); mathruler's own ``extract_boxed_content`` differs (no
  ``\\fbox``, the string ``"None"`` for no box) and is not used.
* The hard per-comparison deadline and the statuses (``match``, ``mismatch``,
  ``no_answer``, ``timeout``, ``error``): the worker pool (:mod:`pool`,
  :mod:`worker`) runs :func:`justrl_equal` in worker processes and kills a
  comparison that overruns. JustRL has no timeout around sympy.

Extraction rules, in order (JustRL/Hendrycks behaviour reproduced faithfully,
including its oddities):

1. If the text contains ``\\boxed `` (boxed followed by a space) anywhere, the
   answer is the text after the *last* ``\\boxed `` up to the next ``$``, or
   to the end of the text when no ``$`` follows. This wins even when a later
   ``\\boxed{...}`` exists (then the answer runs on over that box), exactly as
   in the Hendrycks code.
2. Otherwise the last ``\\boxed`` is taken, or, when the text has no
   ``\\boxed`` at all, the last ``\\fbox``; no box means no answer.
3. From there the first brace group that balances is taken, counting ``{``
   and ``}`` with no escape handling (``\\{`` counts). A last box that never
   closes is no answer (an earlier complete box does not count). The box
   command must be followed directly by ``{`` (``\\boxed5 {x}`` is no
   answer), as ``remove_boxed`` demands.
4. The content of ``\\fbox{...}`` is extracted like that of ``\\boxed{...}``
   (the classic ``remove_boxed`` only accepts a ``\\boxed{`` prefix; JustRL's
   measured behaviour extracts ``\\fbox`` too, and so does this module).
5. The content is returned as written (not stripped; mathruler normalises it).
   An empty or all-blank answer is no answer (``None``): mathruler rejects it
   against any non-empty gold, so only the status differs (``no_answer``
   rather than ``mismatch``).
6. A gold that contains ``\\boxed`` is unwrapped by the same rules; one whose
   box cannot be read (cut off, empty) is kept as written (our choice; such
   golds do not occur in the nine benchmarks).
"""

from __future__ import annotations

_BOXED = "\\boxed"
_FBOX = "\\fbox"
_BOXED_SPACE = "\\boxed "


def _last_box(text: str) -> str | None:
    """The last box with its command (``\\boxed{...}``, ``\\fbox{...}`` or
    ``\\boxed <text>``), or None: Hendrycks' ``last_boxed_only_string``."""
    if _BOXED_SPACE in text:
        return _BOXED_SPACE + text.rsplit(_BOXED_SPACE, 1)[1].split("$", 1)[0]
    start = text.rfind(_BOXED)
    if start < 0:
        start = text.rfind(_FBOX)
        if start < 0:
            return None
    depth = 0
    for i in range(start, len(text)):
        ch = text[i]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[start : i + 1]
    return None


def _unbox(box: str) -> str | None:
    """The content of a box from :func:`_last_box`, or None when it is not of
    the form ``\\boxed <text>``, ``\\boxed{...}`` or ``\\fbox{...}``."""
    if box.startswith(_BOXED_SPACE):
        return box[len(_BOXED_SPACE) :]
    for command in (_BOXED, _FBOX):
        if box.startswith(command + "{") and box.endswith("}"):
            return box[len(command) + 1 : -1]
    return None


def extract_answer(response: str | None) -> str | None:
    """The final answer of a response as JustRL extracts it, or None (see the module notes)."""
    if not response:
        return None
    box = _last_box(response)
    answer = _unbox(box) if box is not None else None
    if answer is None or not answer.strip():
        return None
    return answer


def unwrap_gold(gold: str) -> str:
    """A gold answer that contains ``\\boxed`` is unwrapped by the same extraction
    (JustRL does so); one whose box cannot be read is kept as it is."""
    if _BOXED in gold:
        unwrapped = extract_answer(gold)
        if unwrapped is not None:
            return unwrapped
    return gold


def justrl_equal(gold: str, answer: str) -> tuple[bool, str]:
    """JustRL's verdict on an extracted answer: mathruler's ``grade_answer``, layer ``mathruler``."""
    from mathruler.grader import grade_answer

    return bool(grade_answer(answer, unwrap_gold(gold))), "mathruler"
