"""The built documentation site, as a reader's browser shows it: every results page has its
figures, and every image on it loads.

Builds the site with ``mkdocs build``, serves it on localhost and opens each page in
headless Chromium inside a same-origin frame, whose loaded ``<img>`` elements (and their
``naturalWidth``) a small script reports back through ``--dump-dom``. A screenshot of each
results page is written beside the site, for a person to look at. Skipped without Chromium
or MkDocs, unless ``COMBOPT_REQUIRE_BROWSER=1`` (set by ``.ci/run``), which makes a missing
one a failure.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = os.environ.get("COMBOPT_REQUIRE_BROWSER", "") not in ("", "0")
# The results pages and the figures each must show at least.
RESULTS_PAGES = {
    "demos-synthetic/": 3,
    "knapsack/": 1,
    "keypoints/": 1,
    "results/rc_binary_m1-8_e100_gurobi/": 1,
    "results/knapsack/main/results/": 1,
}
PROBE = """<!doctype html><html><body><pre id="out">pending</pre>
<iframe id="page" src="{src}" width="1280" height="2000"></iframe>
<script>
document.getElementById("page").addEventListener("load", function () {{
  var images = Array.from(this.contentDocument.images);
  Promise.all(images.map(function (img) {{
    return img.complete ? null : new Promise(function (done) {{
      img.onload = img.onerror = done;
    }});
  }})).then(function () {{
    document.getElementById("out").textContent = JSON.stringify(images.map(function (img) {{
      return {{src: img.getAttribute("src"), width: img.naturalWidth}};
    }}));
  }});
}});
</script></body></html>
"""


def _need(tool: str, found: str | None) -> str:
    if found is None:
        message = f"{tool} is not installed (apt-get install -y chromium; pip install -e '.[docs]')"
        if REQUIRED:
            pytest.fail(f"COMBOPT_REQUIRE_BROWSER=1 but {message}")
        pytest.skip(message)
    return found


@pytest.fixture(scope="module")
def chromium() -> str:
    return _need("chromium", shutil.which("chromium") or shutil.which("chromium-browser"))


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    _need("mkdocs", shutil.which("mkdocs", path=str(Path(sys.executable).parent)))
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--no-strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def server(site):
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # no request log in the test output
        pass


def _browser(chromium: str, *args: str) -> str:
    done = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--virtual-time-budget=15000", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.parametrize(("page", "figures"), sorted(RESULTS_PAGES.items()))
def test_a_results_page_shows_its_figures(page, figures, chromium, site, server):
    probe = site / f"probe-{page.strip('/').replace('/', '-')}.html"
    probe.write_text(PROBE.format(src="/" + page), encoding="utf-8")
    dom = _browser(chromium, "--dump-dom", server + probe.name)
    found = re.search(r'<pre id="out">(.*?)</pre>', dom, re.S)
    assert found and found.group(1) != "pending", f"{page}: the page did not load"
    images = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    figures_shown = [i for i in images if i["src"].endswith(".png")]
    assert len(figures_shown) >= figures, f"{page}: expected {figures} figures, got {images}"
    broken = [i["src"] for i in images if i["width"] == 0]
    assert not broken, f"{page}: images that do not load: {broken}"
    shot = site / "screenshots" / f"{page.strip('/').replace('/', '-')}.png"
    shot.parent.mkdir(exist_ok=True)
    _browser(chromium, "--window-size=1280,2000", f"--screenshot={shot}", server + page)
    assert shot.stat().st_size > 10_000
