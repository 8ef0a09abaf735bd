"""A handler's declaration (adapters/http/contract.py) names only catalogued codes, each at
the status its kind answers, and is found on the handler it decorates."""

from __future__ import annotations

import pytest

from adapters.http.contract import NO_CONTENT, contract, declared, json, problem
from adapters.http.system.views import StatusOut


def test_a_problem_answers_at_the_status_of_its_code() -> None:
    assert problem("No such video.", "video_not_found").status == "404"
    assert problem("Too many.", "rate_limited").status == "429"
    assert problem("Not a socket.", "upgrade_required").status == "426"
    assert problem("Anything else.", "internal_error").status == "default"


def test_an_uncatalogued_code_is_refused() -> None:
    with pytest.raises(ValueError, match="CATALOGUE"):
        problem("Nope.", "no_such_code_anywhere")
    with pytest.raises(ValueError, match="CATALOGUE"):
        contract("A route.", "system", {204: NO_CONTENT}, errors=("no_such_code_anywhere",))


def test_the_declaration_is_found_on_its_handler() -> None:
    async def handler() -> None: ...

    assert declared(handler) is None
    same = contract("Alive.", "system", {200: json(StatusOut, "Alive.")}, auth=True,
                    errors=(problem("No such video.", "video_not_found"), "not_author"))(handler)
    assert same is handler
    found = declared(handler)
    assert found is not None and found.auth and found.tag == "system"
    assert [p.code for p in found.problems] == ["video_not_found"]
    assert found.codes == ("not_author",)
