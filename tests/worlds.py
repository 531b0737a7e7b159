"""A whole data path for tests: PDS, operator, a registered service and a citizen with data."""

import functools
import json
import os
import threading

import requests
from nacl.public import PrivateKey
from nacl.signing import SigningKey

from consent_operator.keystore import request_seed
from cv_service.sdk import ServiceClient
from httpkit.serving import loopback_server
from ledger import citizen, events
from ledger.request_auth import RequestSigner
from ledger.wallet import Wallet
from pds.app import create_app as create_pds
from pds.envelope import new_data_key, seal, wrap_key

from .conftest import LiveOperator, free_port
from .helpers import PASSPHRASE

WORK = [{"name": "Arbetsförmedlingen", "position": "Developer"}]
SKILLS = [{"name": "Python", "keywords": ["Flask"]}]


class World:
    """A PDS, an operator using it, a registered service and a citizen with data in `work`."""

    def __init__(self, node, tmp_path, **op_overrides):
        op_dir = tmp_path / "operator"
        op_dir.mkdir(parents=True, exist_ok=True)
        pds_app = create_pds(tmp_path / "pds", RequestSigner("operator", request_seed(op_dir)).public_key())
        self.pds_server = loopback_server(pds_app)
        threading.Thread(target=self.pds_server.serve_forever, daemon=True).start()
        self.pds_url = f"http://127.0.0.1:{self.pds_server.server_port}"
        self.op = LiveOperator(node, op_dir, pds_url=self.pds_url, **op_overrides)
        self.service_seed, self.service_enc = os.urandom(32), PrivateKey.generate()
        self.service = ServiceClient(self.op.url, "cv-builder", self.service_seed, self.service_enc)
        self.service.register("CV Builder", "Builds CVs", "https://cv.example/cb")
        self.wallet = Wallet.create(tmp_path / "anna.json", PASSPHRASE)
        self.cid = self.wallet.keys.citizen_id()
        self.citizen_op = citizen.signed_operator(self.wallet, self.op.url)
        self.citizen_pds = requests.Session()
        self.citizen_pds.auth = RequestSigner(self.cid, self.wallet.keys.request_seed())
        self.citizen_signing = SigningKey(self.wallet.keys.request_seed())
        self.put_area("work", WORK)

    @property
    def endpoints(self):
        from web.citizen_agent import Endpoints

        return Endpoints(self.op.url, self.pds_url, self.op.config.chain_url)

    @functools.cached_property
    def agent(self):
        """The citizen's agent, as the citizen app uses it, on this world's wallet."""
        from web.citizen_agent import CitizenAgent

        return CitizenAgent(self.wallet, self.endpoints)

    def citizen_app(self):
        """The citizen app on this world's wallet (CSRF checks off: tests post forms directly)."""
        from web.citizen_app import create_app

        app = create_app(self.wallet.path, self.endpoints, PASSPHRASE)
        app.config["WTF_CSRF_ENABLED"] = False
        return app

    def put_area(self, area, doc):
        key = new_data_key()
        base = f"{self.pds_url}/pds/v1/citizens/{self.cid}/areas/{area}"
        env = seal(area, 1, doc, key, self.citizen_signing)
        assert self.citizen_pds.post(f"{base}/versions", json={"version": 1, "key_version": 1, "envelope": env}).status_code == 201
        wraps = {self.cid: wrap_key(key, bytes(self.wallet.keys.encryption_key().public_key)), "service:cv-builder": wrap_key(key, bytes(self.service_enc.public_key))}
        assert self.citizen_pds.put(f"{base}/keys/1", json={"wrapped": wraps}).status_code == 201

    def consent(self, permissions, days=30):
        self.service.request_consent(self.cid, ["dpv:ServiceProvision"], permissions, days, "https://cv.example/n", b"n")
        pending = [r for r in citizen.pending_requests(self.wallet, self.citizen_op) if r["status"] == "pending"][-1]
        return citizen.approve(self.wallet, self.citizen_op, pending)["grant"]["consent_id"]

    def read(self, area="work", session=None):
        return (session or self.service.operator.session).get(f"{self.op.url}/v1/citizens/{self.cid}/areas/{area}")

    def last_entry(self):
        log = self.op.runtime.log
        return events.decode(log.entry(log.head - 1))

    def close(self):
        self.op.close()
        self.pds_server.shutdown()


JSON = {"Accept": "application/json"}


class CvSite:
    """The CV service on a loopback port, using the World's registered service keys."""

    def __init__(self, world: World, tmp_path):
        from cv_service import signin_routes
        from cv_service.app import create_app

        data = tmp_path / "cv"
        data.mkdir()
        keys = {"sign_seed": world.service_seed.hex(), "enc_key": bytes(world.service_enc).hex()}
        (data / "service-keys.json").write_text(json.dumps(keys))
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.app = app = create_app(world.op.url, world.op.config.chain_url, data, self.url)
        app.extensions["cv_service.register"]()  # re-registers cv-builder with this site's callback
        self.store = app.extensions["cv_service"].store
        self.routes = signin_routes
        self.port = port
        self.open()

    def open(self) -> None:
        """Serve the site on its port (again, after `close`)."""
        self.server = loopback_server(self.app, self.port)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def browser(self) -> requests.Session:
        return requests.Session()

    def challenge(self, browser: requests.Session) -> str:
        body = browser.get(self.url + "/signin", headers=JSON).json()
        assert body["status"] == "waiting"
        return body["challenge"]

    def signed_in_browser(self, agent) -> requests.Session:  # a web.citizen_agent.CitizenAgent
        browser = self.browser()
        agent.sign_in("cv-builder", self.challenge(browser))
        assert browser.get(self.url + "/signin", allow_redirects=False).status_code == 303
        return browser

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
