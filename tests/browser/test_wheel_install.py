"""A self-contained install: build the wheel from the committed sources, install it into a fresh
virtual environment outside the source tree, run `releasedesk init`, `demo` and `serve` from it,
and see a case page draw its diagram in Chromium with bpmn-js served from inside the wheel (no
node_modules, no network).

The fresh environment gets the product from the wheel only; its third-party dependencies are
borrowed from the test run's own environment through a .pth path entry (which does not run that
environment's own .pth hooks, so its editable install of the source tree stays invisible)."""
from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import sysconfig
import tarfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from .conftest import ROOT, _free_port, screenshot

pytestmark = pytest.mark.browser


def run(cmd, **kw) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kw)
    assert result.returncode == 0, f"{cmd} failed:\n{result.stdout}\n{result.stderr}"
    return result


def source_copy(target: Path) -> Path:
    """The files git would ship (tracked, plus new files not ignored): a wheel must not depend on
    anything only a developer's checkout has, such as node_modules."""
    try:
        listing = run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT).stdout.split("\0")
    except (OSError, AssertionError):  # not a git checkout (an unpacked source archive): skip local-only folders
        skip = {".git", ".venv", "node_modules", "instance", "artifacts", "build", "dist", "__pycache__"}
        listing = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*")
                   if p.is_file() and not skip & set(p.relative_to(ROOT).parts)]
    archive = target / "src.tar"
    with tarfile.open(archive, "w") as tar:
        for name in filter(None, listing):
            if (ROOT / name).is_file():
                tar.add(ROOT / name, arcname=name)
    src = target / "src"
    with tarfile.open(archive) as tar:
        tar.extractall(src, filter="data")
    assert not (src / "node_modules").exists()
    return src


def test_wheel_installs_and_serves_a_case_with_its_diagram(browser, tmp_path):
    src = source_copy(tmp_path)
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"), str(src)])
    wheel = next((tmp_path / "dist").glob("release_desk-*.whl"))

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)])
    site = Path(run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    (site / "shared-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    home = tmp_path / "site"  # the force's install folder, far from the source tree
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELEASEDESK_") and k != "PYTHONPATH"}
    env.update({"RELEASEDESK_DATABASE_URL": f"sqlite:///{home / 'releasedesk.db'}",
                "RELEASEDESK_MEDIA_DIR": str(home / "media"), "RELEASEDESK_INSTANCE_DIR": str(home),
                "RELEASEDESK_SECRET_KEY": "wheel-test-secret", "RELEASEDESK_SECURE_COOKIES": "false"})
    where = run([str(python), "-c", "import web, engine; print(web.__file__); print(engine.__file__)"],
                cwd=home, env=env).stdout
    assert str(ROOT) not in where and str(site) in where

    releasedesk = str(venv / "bin" / "releasedesk")
    init = run([releasedesk, "init"], cwd=home, env=env).stdout
    assert "wanted_person: version 1 (new)" in init  # the pathways travel inside the wheel
    password = "a long wheel-test passphrase"
    for name, group in (("max", "manager"), ("rita", "requester")):
        run([releasedesk, "user", "add", name, "--group", group, "--password-stdin"], cwd=home, env=env,
            input=password + "\n")

    port = _free_port()
    log = open(tmp_path / "serve.log", "w")
    server = subprocess.Popen([releasedesk, "serve", "--port", str(port), "--no-worker"], cwd=home, env=env,
                              stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        token = base64.b64encode(f"rita:{password}".encode()).decode()
        start = urllib.request.Request(
            url + "/api/process-definitions/missing_person/start", method="POST",
            headers={"Authorization": f"Basic {token}", "Content-Type": "application/json"},
            data=json.dumps({"businessKey": "MP-WHEEL-1", "variables": {
                "summary": "Missing since Friday", "risk_level": "high", "previously_in_custody": False,
                "person_description": "Age 16"}}).encode())
        deadline = time.monotonic() + 30
        while True:
            try:
                case = json.loads(urllib.request.urlopen(start, timeout=10).read())
                break
            except urllib.error.HTTPError:
                raise
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
                time.sleep(0.2)

        context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=url)
        page = context.new_page()
        page.set_default_timeout(20_000)
        vendor = []
        page.on("response", lambda r: vendor.append((r.url, r.status)) if "/vendor/bpmn-js/" in r.url else None)
        page.goto("/login")
        page.fill("input[name=username]", "max")
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_url("**/inbox")
        page.goto(f"/instances/{case['id']}")
        page.wait_for_selector("#diagram[data-ready=true]")
        assert page.locator("#diagram .djs-element").count() > 10  # shapes and flows drawn
        assert page.locator("#diagram-missing").count() == 0
        assert vendor and all(status == 200 for _, status in vendor), vendor
        screenshot(page, "wheel-install-case-diagram")
        context.close()
    finally:
        server.terminate()
        server.wait(10)
        log.close()
