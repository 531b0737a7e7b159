"""The seeded demo citizen: a wallet next to the demo's data and a CV in the PDS.

Its strings are distinctive on purpose: a test scans the operator's and the PDS's storage
for them to show neither holds plaintext.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from eth_account.hdaccount.mnemonic import Mnemonic

from ledger.durable import write_atomic

from .citizen_agent import CitizenAgent, Endpoints

DEMO_RESUME = {
    "basics": {"name": "Anna Lindqvist", "label": "Backend developer", "email": "anna.lindqvist@example.se",
               "location": {"city": "Örebro", "countryCode": "SE"}},
    "work": [
        {"name": "Länsförsäkringar Bergslagen", "position": "Systemutvecklare", "startDate": "2019-03-01",
         "summary": "Built the claims API in Python and PostgreSQL"},
        {"name": "Svenska Kaffeskolan", "position": "Barista", "startDate": "2015-06-01", "endDate": "2019-02-28"},
    ],
    "education": [{"institution": "Örebro universitet", "area": "Datavetenskap", "studyType": "Kandidatexamen", "endDate": "2019-01-15"}],
    "skills": [{"name": "Python", "keywords": ["Flask", "pytest", "SQLite"]}, {"name": "Cryptography", "keywords": ["Ed25519", "Merkle trees"]}],
    "languages": [{"language": "Swedish", "fluency": "Native"}, {"language": "English", "fluency": "Fluent"}],
}


def demo_passphrase(wallet_path: Path) -> str:
    """The demo citizen's passphrase: four random words, made once and kept beside the wallet
    (mode 0600) so the next `mydata demo` opens the same wallet. A demo convenience only: a
    real citizen's passphrase is in their head, never in a file."""
    kept = wallet_path.with_name(wallet_path.stem + ".passphrase")
    if not kept.exists():
        words = Mnemonic().wordlist
        kept.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(kept, "-".join(secrets.choice(words) for _ in range(4)).encode())
    return kept.read_text().strip()


def seed(wallet_path: Path, endpoints: Endpoints, passphrase: str) -> CitizenAgent:
    """Open the demo citizen's wallet, or create it and write the demo CV into the PDS."""
    if wallet_path.exists():
        return CitizenAgent.open(wallet_path, endpoints, passphrase)
    agent = CitizenAgent.create(wallet_path, endpoints, passphrase)
    agent.save_cv(DEMO_RESUME)
    return agent
