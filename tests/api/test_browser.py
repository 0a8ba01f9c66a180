"""A real browser (headless Chromium via Playwright) fills the form, submits, reads the result.

Needs Debian's ``chromium`` (at /usr/bin/chromium, or $IMLN_CHROMIUM) and the
``playwright`` Python package (its own browser download is not used). Skips on a
developer machine without them; FAILS under CI. Screenshots go to
``$IMLN_TEST_ARTIFACTS`` (default ``test-artifacts/`` at the repository root).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import threading
import time
from itertools import pairwise
from pathlib import Path

import pytest
import yaml

import imln
from imln.report import headline_probability, headline_recommendation

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "examples" / "early_lateral_n0.yaml"
CHROMIUM = os.environ.get("IMLN_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"browser test cannot run under CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def artifacts() -> Path:
    folder = Path(os.environ.get("IMLN_TEST_ARTIFACTS", ROOT / "test-artifacts")) / "browser"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    import uvicorn

    from imln.api import Settings, create_app
    from imln.storage import Store

    db = tmp_path_factory.mktemp("browser") / "browser.sqlite3"
    store = Store(f"sqlite:///{db}")
    app = create_app(Settings(api_token="browser-token", open_compute=True, open_web_storage=True), store=store)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started:
        if time.time() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", store
    server.should_exit = True
    thread.join(timeout=10)
    store.close()


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install playwright)")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium chromium-driver)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield b
        b.close()


def _form_values(data: dict, prefix: str = "") -> dict[str, str]:
    """The example file as form field names and the text a person would enter."""
    out: dict[str, str] = {}
    for key, value in data.items():
        if key == "findings":
            for finding in value:
                m = finding["modality"]
                for k, v in finding.items():
                    if k != "modality":
                        out[f"findings.{m}.{k}"] = str(v).lower() if isinstance(v, bool) else str(v)
        elif isinstance(value, dict):
            out.update(_form_values(value, f"{prefix}{key}."))
        elif value is not None:
            out[f"{prefix}{key}"] = str(value).lower() if isinstance(value, bool) else str(value)
    return out


def _fid(name: str) -> str:
    return "#f-" + name.replace(".", "--")


def test_fill_form_submit_and_read_result(server, browser, artifacts):
    url, store = server
    data = yaml.safe_load(EXAMPLE.read_text())
    values = _form_values(data)
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto(url + "/")
    assert page.title().startswith("New assessment")

    # keyboard: the first Tab reaches the skip link
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"

    for summary in {n.split(".")[1] for n in values if n.startswith("findings.")}:
        page.click(f"#group-imaging-{summary} > summary")
    for name, text in values.items():
        el = page.locator(_fid(name))
        if el.evaluate("e => e.tagName") == "SELECT":
            el.select_option(text)
        else:
            el.fill(text)

    # inline validation: an impossible size is flagged next to its field before submitting
    page.fill(_fid("tumor_size_mm"), "450")
    page.locator(_fid("tumor_size_mm")).dispatch_event("change")
    error = page.locator(_fid("tumor_size_mm") + "-error")
    error.wait_for(state="visible")
    page.wait_for_function(f"document.querySelector('{_fid('tumor_size_mm')}-error').textContent.length > 0")
    assert "range" in error.text_content()
    page.screenshot(path=str(artifacts / "form-inline-error.png"), full_page=False)
    page.fill(_fid("tumor_size_mm"), values["tumor_size_mm"])

    # submit with the keyboard
    page.focus("#submit")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.title().startswith("Assessment"), page.content()[:500]

    expected = imln.assess(imln.load_patient(EXAMPLE)).model_dump(mode="json")
    headline = page.locator("#headline-probability").text_content()
    est = headline_probability(expected)
    if est is not None:
        assert est.percent_text() in headline
    else:
        assert "No probability" in headline
    recommendation = headline_recommendation(expected)
    if recommendation is not None:
        assert page.locator("#recommendation").text_content().strip() == recommendation
    for record in expected["evidence_on_file"]:
        assert page.locator("#section-evidence_on_file").get_by_text(record["record_id"]).count() >= 1
    stored_id = page.locator("#stored-id").text_content().strip()
    row = store.get(stored_id)
    assert row is not None and row.input["patient_id"] == data["patient_id"]
    page.screenshot(path=str(artifacts / "result.png"), full_page=True)
    page.emulate_media(media="print")
    assert page.locator(".actions").first.is_hidden()  # print stylesheet hides the controls
    page.close()
    assert (artifacts / "result.png").stat().st_size > 10_000


def test_server_side_errors_are_focusable_and_linked(server, browser, artifacts):
    url, _ = server
    page = browser.new_page()
    page.goto(url + "/")
    page.select_option(_fid("laterality"), "left")
    page.select_option(_fid("setting"), "after_nac")
    page.select_option(_fid("neoadjuvant_chemotherapy"), "false")
    page.fill(_fid("age_years"), "58")
    # bypass the browser's own checks: the server must catch the contradiction
    with page.expect_navigation():
        page.click("#submit")
    summary = page.locator("#error-summary")
    assert summary.is_visible()
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert "neoadjuvant_chemotherapy" in page.locator(_fid("setting") + "-error").text_content()
    page.screenshot(path=str(artifacts / "form-server-errors.png"), full_page=True)
    page.close()


def test_api_docs_render_offline(server, browser, artifacts):
    """Swagger UI at /api/v1/docs draws the API from this server alone: any request leaving it is blocked."""
    url, _ = server
    page = browser.new_page()
    outside: list[str] = []

    def only_this_server(route):
        if route.request.url.startswith(url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_this_server)
    page.goto(url + "/api/v1/docs")
    page.wait_for_selector(".opblock", timeout=15_000)  # one block per operation, drawn from openapi.json
    assert page.locator('[data-path="/api/v1/assessments"]').count() >= 1
    assert "imln" in page.locator(".info .title").text_content()
    assert outside == []
    page.screenshot(path=str(artifacts / "api-docs.png"), full_page=False)
    page.close()


# --------------------------------------------------------------------------- the designed result page

EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
WIDTHS = (390, 1280)
#: The page's panels, in order: each must be there for every patient.
PANELS = ("#summary", "#rt-options", "#next-tests", "#imaging-chain", "#details")
OVERFLOW = "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
#: Heading levels in document order (visible headings only).
HEADINGS = """[...document.querySelectorAll('h1,h2,h3,h4,h5,h6')].filter(h => h.offsetParent !== null)
               .map(h => [Number(h.tagName[1]), h.textContent.trim()])"""
#: Visible HTML text below the WCAG AA contrast ratio (4.5:1; 3:1 for large text) against its background.
LOW_CONTRAST = """(() => {
  const rgb = c => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
                                      .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
  const background = e => { for (; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor);
                              if (c.length === 3 || c[3] > 0) return c.slice(0, 3); } return [255, 255, 255]; };
  const out = [];
  for (const e of document.body.querySelectorAll('*')) {
    if (e.namespaceURI !== 'http://www.w3.org/1999/xhtml' || e.offsetParent === null) continue;
    if (![...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
    const st = getComputedStyle(e), size = parseFloat(st.fontSize), bold = Number(st.fontWeight) >= 700;
    const [a, b] = [lum(rgb(st.color)), lum(background(e))];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < (size >= 24 || (bold && size >= 18.66) ? 3 : 4.5)) out.push([e.tagName, e.className, ratio.toFixed(2), e.textContent.trim().slice(0, 40)]);
  }
  return out;
})()"""
#: Visible form controls without a label.
UNLABELLED = """[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
                 .filter(e => e.offsetParent !== null && !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
                 .map(e => e.name || e.id)"""


def _submit(page, url: str, path: Path) -> None:
    """Post the example through the form's own route, with the form's CSRF token and cookie."""
    page.goto(url + "/")
    values = {"csrf": page.locator("input[name=csrf]").first.get_attribute("value"),
              **_form_values(yaml.safe_load(path.read_text()))}
    with page.expect_navigation():
        page.evaluate("""values => {
            const form = document.createElement('form');
            form.method = 'post'; form.action = '/assess';
            for (const [name, value] of Object.entries(values)) {
                const input = document.createElement('input');
                input.type = 'hidden'; input.name = name; input.value = value; form.appendChild(input);
            }
            document.body.appendChild(form); form.submit();
        }""", values)
    assert page.title().startswith("Assessment"), page.content()[:1000]


def _assert_no_overflow(page, where: str) -> None:
    scroll, client = page.evaluate(OVERFLOW)
    assert scroll <= client, f"{where}: horizontal overflow, {scroll} px of content in {client} px"


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_result_page_design(server, browser, artifacts, path):
    from imln.report import format_probability, present

    url, _ = server
    view = present(imln.assess(imln.load_patient(path)))
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    _submit(page, url, path)

    # the headline is the probability the decision used, labelled with which quantity it is
    head = page.locator("#headline-probability")
    assert page.locator("#headline-quantity").text_content().strip() == view.headline.quantity
    if view.headline.probability is None:
        assert head.text_content().strip().startswith("No probability")
        assert head.get_attribute("data-basis") == "none"
    else:
        prob = view.headline.probability
        assert float(head.get_attribute("data-point")) == prob.point
        text = " ".join(head.text_content().split())
        assert text.startswith(format_probability(prob.point, prob.lower, prob.upper, prob.level)), text
        assert prob.frequency.text in page.locator("#headline-frequency").text_content()
    assert page.locator("#recommendation").text_content().strip() == view.recommendation.text

    # radiotherapy's harm (and benefit) in percentage points, never as a percentage
    if view.rt is not None and view.rt.harm is not None:
        harm = " ".join(page.locator("#rt-harm .pp").text_content().split())
        assert harm == view.rt.harm.text and "percentage points" in harm
        assert not re.search(r"\d\.\d+%", harm), harm
        legend = page.locator("#rt-icon-array figcaption").text_content()
        assert view.rt.harm.per_1000.text.capitalize() in legend
    else:
        assert page.locator("#rt-not-computed").is_visible()

    # every panel, the details collapsed
    for panel in PANELS:
        assert page.locator(panel).is_visible(), panel
    details = page.locator("#details-block")
    assert details.evaluate("d => d.open") is False
    assert page.locator("#details-versions").is_hidden()

    # headings never skip a level; every control has a label; no class name or raw placeholder
    levels = page.evaluate(HEADINGS)
    assert levels[0][0] == 1 and all(b[0] <= a[0] + 1 for a, b in pairwise(levels)), levels
    assert page.evaluate(UNLABELLED) == []
    assert page.evaluate(LOW_CONTRAST) == []
    body = page.locator("body").inner_text()
    assert not re.search(r"\{[a-z_]+\}", body) and "RecommendationClass" not in body

    sizes = {}
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        _assert_no_overflow(page, f"{path.stem} at {width} px")
        sizes[width] = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
        page.screenshot(path=str(artifacts / f"result-{path.stem}-{width}.png"), full_page=True)

    # the details open from the keyboard, and even the full record does not widen a phone's page
    page.focus("#details-block > summary")
    page.keyboard.press("Enter")
    assert details.evaluate("d => d.open") is True and page.locator("#details-versions").is_visible()
    assert page.locator("#full-record").evaluate("d => d.open") is False  # the field-by-field record: one more click
    page.click("#full-record > summary")
    page.set_viewport_size({"width": 390, "height": 900})
    _assert_no_overflow(page, f"{path.stem} at 390 px, details and the full record open")
    (artifacts / f"result-{path.stem}-sizes.json").write_text(json.dumps(
        {str(w): {"width": s[0], "height": s[1]} for w, s in sizes.items()}))
    page.close()


def test_patient_summary_from_the_result_page(server, browser, artifacts):
    """The export menu opens the plain-language page; it fits a phone and prints on one page."""
    url, _ = server
    path = ROOT / "examples" / "medial_4plus_nodes.yaml"
    page = browser.new_page(viewport={"width": 390, "height": 900})
    _submit(page, url, path)
    page.select_option("#export-format", "patient")
    with page.expect_navigation():
        page.click("form.inline-form button[type=submit]")
    assert page.title().startswith("Summary for you")
    text = page.locator("body").inner_text()
    assert "women like you" in text and "not a diagnosis" in text
    _assert_no_overflow(page, "patient summary at 390 px")
    page.screenshot(path=str(artifacts / "patient-summary-390.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    _assert_no_overflow(page, "patient summary at 1280 px")
    page.screenshot(path=str(artifacts / "patient-summary-1280.png"), full_page=True)
    page.close()
