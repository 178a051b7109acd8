"""Request bodies as pydantic models: a body that does not fit is a `BadRequest` that names
the field, and nothing runs. (The JSON itself is read and bounded first, at the HTTP edge.)"""

from collections.abc import Callable
from typing import Annotated, Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from kernel.errors import BadRequest

# A name or an id: a string, stripped, 1 to 200 characters.
Text = Annotated[
    str, StringConstraints(strict=True, strip_whitespace=True, min_length=1, max_length=200)
]

# The code a kind of problem gets when the model names none for its field.
PROBLEM_CODES = {
    "missing": "missing_field",
    "string_too_short": "missing_field",
    "string_too_long": "field_too_long",
}


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    # A field's own code for any problem with it (the codes clients already know), and the
    # body's own for any other (an unknown field where none is allowed).
    CODES: ClassVar[dict[str, str]] = {}
    CODE: ClassVar[str | None] = None
    # A field's own sentence for any problem with it, made when refused (so a caller may say it
    # in the reader's language); otherwise the problem is said as pydantic words it.
    MESSAGES: ClassVar[dict[str, Callable[[], str]]] = {}


B = TypeVar("B", bound=Body)


def parse(model: type[B], body: dict[str, Any]) -> B:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        problem = exc.errors(include_url=False)[0]
        where = [str(part) for part in problem["loc"]]
        field = where[0] if where else "body"
        code = (
            model.CODES.get(field)
            or model.CODE
            or PROBLEM_CODES.get(problem["type"], f"bad_{field}")
        )
        said = model.MESSAGES.get(field)
        message = said() if said else f"field {'.'.join(where) or field!r}: {problem['msg']}"
        raise BadRequest(message, code=code) from None
