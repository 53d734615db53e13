"""One way to say what is wrong with an input: a :class:`Problem` names the field at fault.

Every check of something a person typed or uploaded (a calendar year, a file of rows, a rule, a plan)
reports :class:`Problem` values, all of them at once, and the service turns them into one 422 whose
``field`` is the first problem's ``path`` — so the page can point at the input to correct:

* ``path`` — where the problem is, as the request names it: ``makeup_workdays[1]``, ``year``,
  ``rows[3].class_code``; ``file`` for a problem with an uploaded file as a whole;
* ``code`` — what kind of problem, stable for programs (``not_a_weekend``, ``not_a_date`` …);
* ``message`` — the sentence for a person, naming the value;
* ``row`` — the line of an uploaded file it is on (1-based, counting the header), if any.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one field of an input."""

    path: str
    code: str
    message: str
    row: int | None = None

    def __str__(self) -> str:
        return f"line {self.row}: {self.message}" if self.row is not None else self.message


def index_path(field: str, index: int, attribute: str | None = None) -> str:
    """``makeup_workdays[1]``, ``rows[3].class_code``: the path of an item of a list field."""
    return f"{field}[{index}]" + (f".{attribute}" if attribute else "")


class ProblemsFound(ValueError):
    """A check found problems; ``problems`` lists every one, in the order of the input."""

    def __init__(self, message: str, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__(message)

    @property
    def path(self) -> str | None:
        """The field to point at: the first problem's."""
        return self.problems[0].path if self.problems else None

    @property
    def messages(self) -> tuple[str, ...]:
        """Each problem as a sentence (with its line, for a file)."""
        return tuple(str(p) for p in self.problems)


def type_name(value: object) -> str:
    """How a problem names the JSON type it was given instead ("a string", "a list", "null" …)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
