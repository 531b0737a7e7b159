"""One error hierarchy: every exception class the project defines is a MyDataError naming its
problem type, and the HTTP layer maps them in one place."""

import importlib
import inspect
import pkgutil

import pytest

from httpkit.problems import STATUS, from_error
from ledger.errors import MyDataError

PACKAGES = ["ledger", "httpkit", "storage", "devchain", "consent_operator", "pds", "cv_service", "web", "mydata"]


def _defined_exceptions():
    for package in PACKAGES:
        root = importlib.import_module(package)
        for info in pkgutil.walk_packages(root.__path__, package + "."):
            if info.name.endswith("__main__"):
                continue
            module = importlib.import_module(info.name)
            for _, cls in inspect.getmembers(module, inspect.isclass):
                if issubclass(cls, BaseException) and cls.__module__ == module.__name__ and cls is not MyDataError:
                    yield cls


def test_every_exception_class_is_a_mydata_error_with_a_problem_type():
    classes = list(_defined_exceptions())
    assert len(classes) > 25
    for cls in classes:
        assert issubclass(cls, MyDataError), cls
        assert cls.problem_type and cls.problem_type != "error" and cls.problem_type == cls.problem_type.lower(), cls


@pytest.mark.parametrize(("name", "status"), [("LogCorrupt", 500), ("ChainError", 502), ("RequestAuthError", 401), ("TileError", 404), ("StorageUnavailable", 503)])
def test_the_http_status_comes_from_one_table(name, status):
    cls = next(c for c in _defined_exceptions() if c.__name__ == name)
    error = cls.__new__(cls)
    Exception.__init__(error, "why")
    problem = from_error(error)
    assert (problem.status, problem.slug, problem.detail) == (status, cls.problem_type, "why") == (STATUS.get(cls.problem_type, 500), cls.problem_type, "why")
