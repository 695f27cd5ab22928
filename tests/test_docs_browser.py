"""The built documentation renders in a real browser (headless Chromium).

Serves ``docs/_build/html`` (or ``$SKEBM_DOCS_HTML``) on localhost, loads the
index, one API page and one gallery page in headless Chromium, and checks
what the browser rendered (``--dump-dom``: the DOM after the page's scripts
ran): the title, the page's heading, and that every ``<img>`` resolves to a
PNG/SVG in the build which the browser fetched with status 200 (no broken
images: gallery thumbnails and figures included). Build the site first with
``sphinx-build -W -b html docs docs/_build/html``; ``.ci/run`` does.
"""

import functools
import http.server
import os
import shutil
import subprocess
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
HTML = Path(os.environ.get("SKEBM_DOCS_HTML", ROOT / "docs" / "_build" / "html"))
BROWSER = next(
    filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))),
    None,
)

pytestmark = [
    pytest.mark.skipif(
        BROWSER is None,
        reason="no Chromium on PATH (Debian: apt-get install -y chromium)",
    ),
    pytest.mark.skipif(
        not (HTML / "index.html").exists(),
        reason=f"docs not built at {HTML} (sphinx-build -W -b html docs {HTML})",
    ),
]

PAGES = {
    # page: (words the <title> must hold, the <h1>)
    "index.html": ("skebm", "skebm: energy-based models for scikit-learn"),
    "generated/skebm.BernoulliRBM.html": ("BernoulliRBM", "skebm.BernoulliRBM"),
    "auto_examples/plot_rbm_samples.html": (
        "Generating digits",
        "Generating digits with an RBM, and watching its log-likelihood",
    ),
    "auto_examples/index.html": ("Gallery", "Gallery of examples"),
}


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.title, self.h1, self.images, self._in = "", [], [], None

    def handle_starttag(self, tag, attrs):
        if tag in ("title", "h1"):
            self._in = tag
            if tag == "h1":
                self.h1.append("")
        elif tag == "img":
            self.images.append(dict(attrs).get("src", ""))

    def handle_endtag(self, tag):
        if tag == self._in:
            self._in = None

    def handle_data(self, data):
        if self._in == "title":
            self.title += data
        elif self._in == "h1":
            self.h1[-1] += data


class _Recorder(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # keep a record instead of printing
        pass

    def log_request(self, code="-", size="-"):
        self.server.requests.append((urlsplit(self.path).path, int(code)))


@pytest.fixture(scope="module")
def server():
    handler = functools.partial(_Recorder, directory=str(HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.requests = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _render(url, tmp_path):
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    cmd = [
        BROWSER,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--window-size=1280,8000",  # tall: every image is inside the viewport
        "--virtual-time-budget=10000",
        "--dump-dom",
        url,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@pytest.mark.parametrize("page", list(PAGES))
def test_page_renders_with_its_images(page, server, tmp_path):
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    url = urljoin(base, page)
    server.requests.clear()
    dom = _render(url, tmp_path)
    parsed = _Page()
    parsed.feed(dom)
    title_words, heading = PAGES[page]
    assert title_words in parsed.title, parsed.title
    assert any(heading in h for h in parsed.h1), parsed.h1
    assert (urlsplit(url).path, 200) in server.requests

    local = [src for src in parsed.images if not src.startswith(("data:", "http"))]
    if page.startswith("auto_examples/"):
        assert local, "a gallery page without its figures or thumbnails"
    fetched = dict(server.requests)
    for src in local:
        path = urlsplit(urljoin(url, src)).path
        file = HTML / unquote(path).lstrip("/")
        assert file.is_file(), f"{page}: <img src={src!r}> has no file {file}"
        head = file.read_bytes()[:8]
        assert head.startswith(b"\x89PNG") or b"<svg" in file.read_bytes()[:400], src
        assert fetched.get(path) == 200, f"{page}: the browser did not load {src}"
    broken = [(p, c) for p, c in server.requests if c >= 400 and p != "/favicon.ico"]
    assert not broken, broken
