"""Integer query parameters: digits only, bounded, refused with a 400 problem otherwise."""

import pytest

from httpkit.problems import Problem
from httpkit.query_args import MAX_DIGITS, query_int


@pytest.mark.parametrize("raw", ["-1", "1.5", "²", "٣", "0x10", "", " 1", "9" * (MAX_DIGITS + 1)])
def test_anything_but_plain_ascii_digits_is_refused(raw):
    with pytest.raises(Problem) as err:
        query_int({"n": raw}, "n")
    assert (err.value.status, err.value.detail) == (400, "query parameter 'n' must be a non-negative integer")


def test_digits_are_read_and_a_missing_parameter_takes_its_default():
    assert query_int({"n": "0042"}, "n") == 42 and query_int({"n": "9" * MAX_DIGITS}, "n") == 10**MAX_DIGITS - 1
    assert query_int({}, "n", 7) == 7
    with pytest.raises(Problem):
        query_int({}, "n")  # required when there is no default
