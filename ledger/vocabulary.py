"""Plain words for the W3C Data Privacy Vocabulary (DPV) terms that consent records carry.

Records name purposes and lawful bases by DPV IRI (`dpv:ServiceProvision`) so that machines
agree on them; people read the label beside it. Each label is the term's DPV preferred
label, said as a citizen would say it. A purpose that is not a DPV term (a service's own
words) is shown as written.
"""

from __future__ import annotations

DPV_PREFIX = "dpv:"

PURPOSES = {
    "dpv:ServiceProvision": "providing the service you use",
    "dpv:ServicePersonalisation": "personalising the service for you",
    "dpv:ServiceOptimisation": "improving the service",
    "dpv:Personalisation": "personalisation",
    "dpv:Marketing": "marketing",
    "dpv:Advertising": "advertising",
    "dpv:DirectMarketing": "direct marketing",
    "dpv:ResearchAndDevelopment": "research and development",
    "dpv:AcademicResearch": "academic research",
    "dpv:CommercialResearch": "commercial research",
    "dpv:CustomerManagement": "managing you as a customer",
    "dpv:CommunicationManagement": "communicating with you",
    "dpv:HumanResourceManagement": "human resources",
    "dpv:IdentityVerification": "verifying your identity",
    "dpv:FraudPreventionAndDetection": "preventing and detecting fraud",
    "dpv:LegalCompliance": "complying with the law",
    "dpv:EnforceSecurity": "keeping systems secure",
    "dpv:RecordManagement": "keeping records",
    "dpv:SellDataToThirdParties": "selling data to others",
}

LAWFUL_BASES = {
    "dpv:Consent": "your consent",
    "dpv:Contract": "a contract with you",
    "dpv:LegalObligation": "a legal obligation",
    "dpv:LegitimateInterest": "a legitimate interest",
}


def label(term: str) -> str:
    """The plain words for a DPV purpose or lawful basis; a DPV term we have no words for,
    in words from its name (`dpv:JobMatching` -> "job matching"); anything else as written."""
    known = PURPOSES.get(term) or LAWFUL_BASES.get(term)
    if known:
        return known
    if term.startswith(DPV_PREFIX) and term[len(DPV_PREFIX) :].isalnum():
        name = term[len(DPV_PREFIX) :]
        return "".join(" " + c.lower() if c.isupper() and i else c.lower() for i, c in enumerate(name))
    return term
