# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Open a local HTML file in headless Chromium (Debian's ``chromium``): its DOM after rendering, its
console messages, every request the page made (from Chromium's NetLog), and a screenshot.

Nothing leaves the machine: ``--host-resolver-rules`` makes every name unresolvable, background
networking is off, and the requests Chromium makes for itself (update checks, which then fail) are
told apart from the page's own by their initiator (the page's is its file:// origin, ``null``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
         "--no-default-browser-check", "--disable-component-update", "--disable-sync", "--disable-default-apps",
         "--disable-domain-reliability", "--disable-client-side-phishing-detection", "--hide-scrollbars",
         "--disable-features=Translate,OptimizationHints,MediaRouter,SpellcheckService,AutofillServerCommunication",
         "--host-resolver-rules=MAP * ~NOTFOUND", "--enable-logging=stderr", "--v=0"]


def binary():
    return shutil.which("chromium") or shutil.which("chromium-browser")


def ensure_installed():
    """The chromium binary; installed from Debian's archive when missing (root only), else None."""
    if binary():
        return binary()
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return None
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    command = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium"]
    if subprocess.run(command, env=env, capture_output=True, timeout=900, check=False).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, timeout=600, check=False)
        subprocess.run(command, env=env, capture_output=True, timeout=900, check=False)
    return binary()


def _page_requests(netlog_path):
    """URLs the page itself requested (URL_REQUEST_START_JOB with the file page as initiator or site)."""
    with open(netlog_path) as handle:
        netlog = json.load(handle)
    names = dict((number, name) for name, number in netlog["constants"]["logEventTypes"].items())
    urls = []
    for event in netlog.get("events", []):
        params = event.get("params") or {}
        if names.get(event.get("type")) != "URL_REQUEST_START_JOB" or "url" not in params:
            continue
        from_page = params.get("initiator") in ("null",) or "file://" in str(params.get("site_for_cookies"))
        if from_page and not params["url"].startswith("file:"):
            urls.append(params["url"])
    return urls


def open_page(path, workdir, screenshot=None, window="1200,2400", timeout=60):
    """``{dom, console, requests, screenshot, seconds}`` for the file ``path``."""
    chromium = binary()
    assert chromium, "chromium is not installed"
    home = os.path.join(str(workdir), "chromium-home")
    os.makedirs(home, exist_ok=True)
    env = dict(os.environ, HOME=home, XDG_CONFIG_HOME=home, XDG_CACHE_HOME=home)
    url = "file://" + os.path.abspath(path)
    netlog = os.path.join(str(workdir), "netlog.json")
    started = time.monotonic()
    dump = subprocess.run([chromium] + FLAGS + ["--log-net-log=" + netlog, "--dump-dom", url], env=env, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL, check=False)
    assert dump.returncode == 0, dump.stderr[-3000:]
    console = [line for line in dump.stderr.splitlines() if ":CONSOLE" in line]
    if screenshot:
        shot = subprocess.run([chromium] + FLAGS + ["--window-size=" + window, "--screenshot=" + screenshot, url], env=env,
                              capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, check=False)
        assert shot.returncode == 0 and os.path.getsize(screenshot) > 0, shot.stderr[-3000:]
        console += [line for line in shot.stderr.splitlines() if ":CONSOLE" in line]
    return {"dom": dump.stdout, "console": console, "requests": _page_requests(netlog), "screenshot": screenshot,
            "seconds": time.monotonic() - started}
