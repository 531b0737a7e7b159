"""JSON Resume sections as consent areas: validated by writers, errors name the field."""

import pytest

from pds.resume import AREAS, ResumeError, split_resume, validate_area

RESUME = {
    "basics": {"name": "Anna Andersson", "email": "anna@example.se", "location": {"city": "Malmö", "countryCode": "SE"}},
    "work": [{"name": "Arbetsförmedlingen", "position": "Utvecklare", "startDate": "2020-01", "highlights": ["MyData"]}],
    "education": [{"institution": "Lunds universitet", "studyType": "MSc", "endDate": "2019"}],
    "skills": [{"name": "Python", "keywords": ["Flask"]}],
    "languages": [{"language": "Svenska", "fluency": "Native"}],
    "certificates": [{"name": "Certified Developer", "issuer": "CV Builder", "date": "2024-05-01"}],
}


def test_a_json_resume_splits_into_valid_areas():
    areas = split_resume(RESUME)
    assert set(areas) == set(RESUME) and set(areas) <= set(AREAS)


@pytest.mark.parametrize(
    ("area", "doc", "field"),
    [
        ("work", [{"name": "X", "startDate": "2020/01/01"}], "work[0].startDate"),
        ("basics", {"email": "not-an-email"}, "basics.email"),
        ("skills", [{"keywords": ["a"]}], "skills[0].name"),
        ("languages", {"language": "Svenska"}, "languages"),
        ("certificates", [{"name": "C", "url": "ftp://x"}], "certificates[0].url"),
        ("salary", [], "area"),
    ],
)
def test_bad_sections_are_refused_naming_the_field(area, doc, field):
    with pytest.raises(ResumeError) as err:
        validate_area(area, doc)
    assert err.value.field == field
