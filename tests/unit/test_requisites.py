import pytest

from invoice_bridge.requisites import inn_problem, kpp_problem, normalise_inn


@pytest.mark.parametrize("inn", ["7707083893", "1234567894", "500100732259", "123456789047"])
def test_valid_inns(inn: str) -> None:
    assert inn_problem(inn) is None


@pytest.mark.parametrize(
    ("inn", "fragment"),
    [
        ("", "is empty"),
        ("77070838", "has 8 digits; must be 10"),
        ("7707083894", "wrong check digit"),
        ("123456789037", "wrong check digit"),
        ("77070838A3", "other than digits"),
        ("0012345678", "starts with 00"),
    ],
)
def test_invalid_inns_say_what_is_wrong(inn: str, fragment: str) -> None:
    problem = inn_problem(inn)
    assert problem is not None
    assert fragment in str(problem)


def test_spaces_and_dashes_are_normalised() -> None:
    assert normalise_inn(" 7707-083 893 ") == "7707083893"


@pytest.mark.parametrize("kpp", ["773601001", "7736AB001", "771401001"])
def test_valid_kpps(kpp: str) -> None:
    assert kpp_problem(kpp) is None


@pytest.mark.parametrize("kpp", ["", "77360100", "7736ab001", "7736010011", "77A601001"])
def test_invalid_kpps(kpp: str) -> None:
    assert kpp_problem(kpp) is not None
