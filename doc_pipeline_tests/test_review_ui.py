"""The review UI in a real browser: Debian's Chromium driven by Playwright against the API served by uvicorn on
127.0.0.1, with documents processed by the real pipeline (sensor + runs in-process, embedded default in a temp
DOCPIPE_HOME). Covers: sign-in, the flagged queue (sort, filter, keyboard), reviewing a document (field boxes on the
page image, correcting a field by clicking a word, accept by key, submit with Enter), the corrected value after the
fields step re-runs, the document leaving the queue, the read-only viewer, and the page-image endpoint (auth, audit,
masking). Set REVIEW_UI_SCREENSHOTS=docs/img to refresh the screenshots of docs/REVIEW_UI.md."""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from doc_pipeline_tests.test_api_support import SECRET, UvicornThread, reset_caches, token

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1440, "height": 900}


def _playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the review UI tests need Playwright's Python package: pip install playwright "
                    "(do not run `playwright install`: the browser is Debian's, apt-get install chromium)")
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"the review UI tests need Chromium at {CHROMIUM}: apt-get install -y chromium")
    return sync_playwright


def flagged_invoice_pdf(reference: str) -> bytes:
    """An invoice without an invoice number (so it is flagged: missing_field) but with an order reference the
    reviewer can pick from the page, a ruled table and an IBAN (masked for reviewers)."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import letter
    from reportlab.pdfgen import canvas
    from reportlab.platypus import Table, TableStyle

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=letter)
    c.setFont("Helvetica-Bold", 20)
    c.drawString(72, 720, "INVOICE")
    c.setFont("Helvetica", 12)
    for i, line in enumerate(["Northwind Paper Services Ltd", "12 Harbour Road, Bristol BS1 4AA", "",
                              f"Order reference: {reference}", "Invoice date: 15 March 2024",
                              "Customer: Acme Lending Corp"]):
        c.drawString(72, 690 - 16 * i, line)
    rows = [["Item", "Qty", "Unit price", "Amount"], ["Document scanning service", "12", "4.50", "54.00"],
            ["Archive storage (month)", "1", "19.99", "19.99"], ["Courier pickup", "2", "12.00", "24.00"]]
    t = Table(rows, colWidths=[220, 50, 90, 90])
    t.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.8, colors.black),
                           ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"), ("FONTSIZE", (0, 0), (-1, -1), 11)]))
    _, h = t.wrapOn(c, 0, 0)
    t.drawOn(c, 72, 580 - h)
    c.setFont("Helvetica-Bold", 12)
    c.drawString(340, 470, "Total due: EUR 97.99")
    c.setFont("Helvetica", 11)
    c.drawString(72, 430, "Pay by bank transfer to IBAN DE89 3704 0044 0532 0130 00")
    c.showPage()
    c.save()
    return buf.getvalue()


@dataclass
class Site:
    url: str
    browser: object
    harness: object
    store: object
    db: object
    doc_a: str  # reviewed end to end by test_review_by_clicking_a_word
    doc_b: str  # stays flagged (screenshots, "next document")
    fake: str   # a flagged row seeded straight into the DB (no pages): sorting and filtering

    def page(self, tok: str | None = None):
        ctx = self.browser.new_context(viewport=VIEWPORT)
        if tok:
            ctx.add_init_script(f"sessionStorage.setItem('docpipe.token', {tok!r})")
        page = ctx.new_page()
        page.set_default_timeout(15_000)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.js_errors = errors
        return page


def _reset_all():
    from doc_pipeline import resources
    from doc_pipeline.db.session import get_database

    get_database.cache_clear()
    resources._STORES.clear()
    reset_caches()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    sync_playwright = _playwright()
    mp = pytest.MonkeyPatch()
    home = tmp_path_factory.mktemp("review-ui") / "home"
    for var in ("DOCPIPE_DATABASE_URL", "DOCPIPE_STORAGE", "DOCPIPE_STORAGE_PATH", "DOCPIPE_METRICS_PUBLIC",
                "DOCPIPE_JWT_ALGORITHM", "DOCPIPE_JWT_JWKS_URL", "DOCPIPE_AUTH_DEV_SECRET", "DOCPIPE_UNMASKED_ROLES",
                "DAGSTER_HOME"):
        mp.delenv(var, raising=False)
    mp.setenv("DOCPIPE_HOME", str(home))
    mp.setenv("DOCPIPE_JWT_SECRET", SECRET)
    mp.setenv("DOCPIPE_RATE_LIMIT_PER_SECOND", "0")
    _reset_all()
    try:
        from sqlalchemy import select

        from doc_pipeline.db import Document, FieldRow
        from doc_pipeline.resources import DocPipelineResource
        from doc_pipeline_tests.pipeline_harness import Harness

        from api.main import app

        dp = DocPipelineResource()
        store, db = dp.store(), dp.db()
        harness = Harness()
        ids = []
        for name, ref in (("invoice-a", "PO-5531"), ("invoice-b", "PO-7702")):
            # one file per sensor tick: one run per document, whatever the sensor's batching of bursts
            store.put_bytes(f"raw/{name}.pdf", flagged_invoice_pdf(ref))
            reqs, runs = harness.run_sensor_and_runs()
            assert len(reqs) == 1 and all(r.success for r in runs)
            with db.session() as s:
                ids.append(s.scalars(select(Document.doc_id).where(Document.raw_key == f"raw/{name}.pdf")).one())
        doc_a, doc_b = ids
        long_ago = datetime.now(timezone.utc) - timedelta(days=3)
        with db.session() as s:
            for doc_id, applicant in ((doc_a, "A-1001"), (doc_b, "A-2002")):
                d = s.get(Document, doc_id)
                assert d.flagged, "the generated invoice must be flagged (no invoice number)"
                d.owner, d.applicant_id = "ursula", applicant
            s.add(Document(doc_id="receipt-old", raw_key="raw/receipt-old.png", source="api", status="done",
                           owner="someone", flagged=True, created_at=long_ago, updated_at=long_ago,
                           media_type="image/png", source_name="corner-shop-receipt.png", doc_type="receipt",
                           applicant_id="A-0042",
                           flag_reasons=[{"code": "low_confidence", "reason": "'total' confidence 0.21 is below 0.50",
                                          "field": "total"}]))
            s.add(FieldRow(doc_id="receipt-old", name="total", ordinal=0, value="12.4O", confidence=0.21, page_no=1,
                           bbox=[10.0, 10.0, 60.0, 20.0], source="rule"))
        with UvicornThread(app) as server, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                yield Site(server.url, browser, harness, store, db, doc_a, doc_b, "receipt-old")
            finally:
                browser.close()
    finally:
        mp.undo()
        _reset_all()


def _auth(role: str, sub: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(sub or role, role)}"}


def _queue_ids(page) -> list[str]:
    return page.locator("#queue-table tbody tr").evaluate_all("rows => rows.map(r => r.dataset.docId)")


def _open_doc(site: Site, page, path: str):
    page.goto(f"{site.url}{path}")
    page.wait_for_selector("body[data-loaded=true]")
    page.wait_for_function("() => [...document.querySelectorAll('.page > img')].every(i => i.naturalWidth > 0)")


# ---- the page-image endpoint ---------------------------------------------------------------------------------


def test_page_image_endpoint_auth_audit_and_masking(site):
    from PIL import Image
    from sqlalchemy import select

    from doc_pipeline.core.models import PageImages
    from doc_pipeline.db import AuditLog

    url = f"{site.url}/result/{site.doc_a}/pages/1.png"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers=_auth("uploader", "mallory")).status_code == 404  # not hers: not revealed
    assert httpx.get(f"{site.url}/result/{site.doc_a}/pages/9.png", headers=_auth("admin")).status_code == 404

    admin = httpx.get(url, headers=_auth("admin"))
    owner = httpx.get(url, headers=_auth("uploader", "ursula"))
    reviewer = httpx.get(url, headers=_auth("reviewer", "rita"))
    assert [r.status_code for r in (admin, owner, reviewer)] == [200, 200, 200]
    assert admin.headers["content-type"] == "image/png"
    # a page with a text layer: page_images left it to be rendered on demand (DOCPIPE_NATIVE_PAGE_IMAGES), once
    assert PageImages.model_validate_json(site.store.get_bytes(f"derived/page_images/{site.doc_a}.json")).images == []
    assert admin.headers["x-page-dpi"] == "100"  # DOCPIPE_NATIVE_RENDER_DPI
    kept = [o.key for o in site.store.list(f"pages/{site.doc_a}/")]
    assert len(kept) == 1 and admin.content == site.store.get_bytes(kept[0])  # admins see the page as rendered
    assert httpx.get(url, headers=_auth("admin")).content == admin.content
    width_px = Image.open(io.BytesIO(admin.content)).width

    # the IBAN is painted over for roles that see masked values (the field box and every word of the number)
    result = httpx.get(f"{site.url}/result/{site.doc_a}", headers=_auth("admin")).json()
    iban = next(f for f in result["fields"] if f["name"] == "iban")
    page = result["pages"][0]
    scale = width_px / page["width"]
    box = [round(v * scale) for v in iban["bbox"]]

    def ink(png: bytes, box) -> float:  # share of dark pixels inside a box
        region = Image.open(io.BytesIO(png)).convert("L").crop(box)
        return sum(region.histogram()[:60]) / (region.width * region.height)

    assert ink(reviewer.content, box) > 0.95 and ink(owner.content, box) > 0.95
    assert ink(admin.content, box) < 0.5
    # ...and nothing else is touched: the order reference is still readable for the reviewer
    ref = next(w for w in page["words"] if w["text"] == "PO-5531")
    rbox = [round(v * scale) for v in ref["bbox"]]
    assert ink(reviewer.content, rbox) < 0.5

    with site.db.session() as s:
        rows = s.scalars(select(AuditLog).where(AuditLog.action == "result.page_image",
                                                AuditLog.doc_id == site.doc_a)).all()
        assert {r.actor for r in rows} >= {"admin", "ursula", "rita"}
        assert any(r.actor == "rita" and r.detail["redacted_boxes"] > 0 for r in rows)

    # the result links to the viewer, and the viewer page is served
    assert result["meta"]["viewer_url"] == f"/view/{site.doc_a}"
    html = httpx.get(site.url + result["meta"]["viewer_url"])
    assert html.status_code == 200 and "text/html" in html.headers["content-type"]
    assert httpx.get(f"{site.url}/view/..%2F..%2Fetc").status_code == 404
    js = httpx.get(f"{site.url}/static/web/app.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]


# ---- the queue ------------------------------------------------------------------------------------------------


def test_queue_sign_in_sort_filter_and_keyboard(site):
    page = site.page()
    page.goto(f"{site.url}/review")
    assert page.locator("#signin").is_visible() and not page.locator("#app").is_visible()
    page.fill("#token-input", "not a token")
    page.click("#signin-submit")
    assert "JWT" in page.inner_text("#signin-error")
    # a forged token reaches the API, is refused, and brings the form back with the API's reason
    page.fill("#token-input", token("rita", "reviewer")[:-4] + "AAAA")
    page.click("#signin-submit")
    page.wait_for_selector("#signin:not([hidden])")
    page.wait_for_function("() => document.querySelector('#signin-error').textContent.includes('refused')")

    page.fill("#token-input", token("rita", "reviewer"))
    page.click("#signin-submit")
    page.wait_for_selector("#queue-table tbody tr")
    assert page.inner_text("#whoami") == "rita (reviewer)"
    ids = _queue_ids(page)
    assert set(ids) == {site.doc_a, site.doc_b, site.fake}
    assert ids[-1] == site.fake  # default order: newest first, the 3-day-old receipt last
    row = page.locator(f"#queue-table tr[data-doc-id='{site.doc_a}']")
    assert "invoice" in row.inner_text() and "A-1001" in row.inner_text()
    assert "invoice_number" in row.inner_text() and "missing field" in row.inner_text()
    fake_row = page.locator(f"#queue-table tr[data-doc-id='{site.fake}']").inner_text()
    assert "0.21" in fake_row and "3 d" in fake_row and "corner-shop-receipt.png" in fake_row

    page.click("th[data-sort=min_conf] button")  # lowest confidence first
    assert _queue_ids(page)[0] == site.fake
    assert page.get_attribute("th[data-sort=min_conf]", "aria-sort") == "ascending"
    page.click("th[data-sort=min_conf] button")
    assert _queue_ids(page)[-1] == site.fake

    page.keyboard.press("/")
    page.keyboard.type("A-2002")
    assert _queue_ids(page) == [site.doc_b]
    page.fill("#queue-filter", "")
    page.select_option("#queue-type", "receipt")
    assert _queue_ids(page) == [site.fake]
    page.select_option("#queue-type", "")
    page.locator("#queue-filter").blur()

    page.keyboard.press("?")
    assert page.locator("#help").is_visible()
    page.keyboard.press("?")
    assert not page.locator("#help").is_visible()

    page.click("th[data-sort=name] button")  # by name: the two invoices (a, b) then the receipt? names decide
    order = _queue_ids(page)
    page.keyboard.press("j")
    assert page.locator("#queue-table tbody tr.selected").get_attribute("data-doc-id") == order[1]
    page.keyboard.press("n")  # the next document opens with one key
    page.wait_for_url(f"**/review/{order[1]}")
    assert page.js_errors == []


def test_uploader_sees_a_clear_error_on_the_queue(site):
    page = site.page(token("ursula", "uploader"))
    page.goto(f"{site.url}/review")
    page.wait_for_selector(".banner")
    assert "403" in page.inner_text(".banner") and "reviewer" in page.inner_text(".banner")


# ---- screenshots (before the end-to-end test takes document a out of the queue) -------------------------------


def test_screenshots(site, tmp_path):
    out = Path(os.environ.get("REVIEW_UI_SCREENSHOTS") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    page = site.page(token("rita", "reviewer"))
    page.goto(f"{site.url}/review")
    page.wait_for_selector("#queue-table tbody tr")
    page.screenshot(path=str(out / "review-queue.png"))

    _open_doc(site, page, f"/review/{site.doc_b}")
    page.locator("#fields li[data-name=issuer]").click()
    page.keyboard.press("a")  # accepted: selection moves on
    page.locator("#fields li[data-name=invoice_number]").click()
    page.locator(".word", has=page.locator(".wt", has_text=re.compile(r"^PO-7702$"))).click()
    page.locator("#pages").evaluate("e => e.scrollTop = 0")
    page.fill("#comment", "Invoice number is the order reference")
    page.locator("#comment").blur()
    page.screenshot(path=str(out / "review-document.png"))
    for name in ("review-queue.png", "review-document.png"):
        assert (out / name).stat().st_size > 20_000
    assert page.js_errors == []


# ---- review end to end ----------------------------------------------------------------------------------------


def test_review_by_clicking_a_word(site):
    from dagster import AssetKey
    from sqlalchemy import select

    from doc_pipeline.db import Review

    page = site.page(token("rita", "reviewer"))
    page.goto(f"{site.url}/review")
    page.wait_for_selector("#queue-table tbody tr")
    page.locator(f"#queue-table tr[data-doc-id='{site.doc_a}'] a.docname").click()
    page.wait_for_url(f"**/review/{site.doc_a}")
    page.wait_for_selector("body[data-loaded=true]")
    page.wait_for_function("() => [...document.querySelectorAll('.page > img')].every(i => i.naturalWidth > 0)")

    result = httpx.get(f"{site.url}/result/{site.doc_a}", headers=_auth("reviewer", "rita")).json()
    words = result["pages"][0]["words"]
    boxed = [f for f in result["fields"] if f["bbox"]]
    assert page.locator(".page").count() == 1 and page.locator(".thumb img").count() == 1
    assert page.locator(".word").count() == len(words)
    assert page.locator(".fbox").count() == len(boxed)
    # the masked IBAN is shown as the API returns it
    assert "*" in page.locator("#fields li[data-name=iban] .fvalue").inner_text()
    # boxes sit where the result says: points scaled to the displayed image
    img = page.locator(".page > img").bounding_box()
    issuer = next(f for f in result["fields"] if f["name"] == "issuer")
    sx = img["width"] / result["pages"][0]["width"]
    ibox = page.locator(".fbox", has=page.locator(".flabel", has_text=re.compile("^issuer$"))).bounding_box()
    assert abs(ibox["x"] - (img["x"] + issuer["bbox"][0] * sx)) < 2
    assert abs(ibox["width"] - (issuer["bbox"][2] - issuer["bbox"][0]) * sx) < 2
    # colour follows confidence: >= 0.9 green, >= 0.5 amber, below red
    for f in boxed:
        want = "c-high" if f["confidence"] >= 0.9 else "c-mid" if f["confidence"] >= 0.5 else "c-low"
        label = page.locator(".fbox", has=page.locator(".flabel", has_text=re.compile(f"^{f['name']}$"))).first
        assert want in label.get_attribute("class"), f["name"]

    # the flagged field is selected first; j/k move; selecting a field highlights its box
    assert page.locator("#fields li.selected").get_attribute("data-name") == "invoice_number"
    names = page.locator("#fields li").evaluate_all("l => l.map(x => x.dataset.name)")
    page.keyboard.press("k")
    assert page.locator("#fields li.selected").get_attribute("data-name") == names[names.index("invoice_number") - 1]
    page.locator("#fields li[data-name=issuer]").click()
    active = page.locator(".fbox.active")
    assert active.count() == 1 and active.inner_text() == "issuer"
    page.keyboard.press("a")  # accept the issuer

    # correct the missing invoice number by clicking the word on the page
    page.locator("#fields li[data-name=invoice_number]").click()
    page.locator(".word", has=page.locator(".wt", has_text=re.compile(r"^PO-5531$"))).click()
    assert page.locator("#fields li[data-name=invoice_number] input.corr").input_value() == "PO-5531"
    assert "d-correct" in page.locator("#fields li[data-name=invoice_number]").get_attribute("class")
    # shift-click adds a word, u undoes, a plain click sets it again
    page.locator(".word", has=page.locator(".wt", has_text=re.compile(r"^reference:$"))).click(modifiers=["Shift"])
    assert page.locator("#fields li[data-name=invoice_number] input.corr").input_value() == "reference: PO-5531"
    page.keyboard.press("u")
    assert page.locator("#fields li[data-name=invoice_number] input.corr").input_value() == ""
    page.keyboard.press("c")  # typing is the exception: c opens the box for editing
    page.keyboard.type("INV-1")
    page.keyboard.press("Enter")  # leaves the box, does not submit
    assert page.locator("#fields li[data-name=invoice_number] input.corr").input_value() == "INV-1"
    assert page.inner_text("#submit-status") == ""
    page.locator(".word", has=page.locator(".wt", has_text=re.compile(r"^PO-5531$"))).click()
    # every other field accepted with the key; a moves the selection on to the next field
    for name in (n for n in names if n not in ("issuer", "invoice_number")):
        page.locator(f"#fields li[data-name={name}] .fname").click()
        page.keyboard.press("a")
        assert "d-accept" in page.locator(f"#fields li[data-name={name}]").get_attribute("class")
        assert page.locator("#fields li.selected").get_attribute("data-name") != name or name == names[-1]
    page.fill("#comment", "invoice number is the order reference")
    page.locator("#comment").blur()
    page.keyboard.press("Enter")
    page.wait_for_selector("#submit-status.ok")
    assert "Submitted" in page.inner_text("#submit-status")

    with site.db.session() as s:
        review = s.scalars(select(Review).where(Review.doc_id == site.doc_a)).one()
        assert review.reviewer == "rita" and review.comment == "invoice number is the order reference"
        decisions = {d["name"]: d for d in review.decisions}
        assert decisions.pop("invoice_number") == {"name": "invoice_number", "ordinal": None, "action": "correct",
                                                   "value": "PO-5531"}
        assert set(decisions) == set(names) - {"invoice_number"}
        assert {d["action"] for d in decisions.values()} == {"accept"}

    # the pipeline applies it: the reprocess sensor launches fields + index_docs, as the daemon would
    reqs = site.harness.tick("reprocess_sensor")
    assert len(reqs) == 1 and set(reqs[0].asset_selection) == {AssetKey("fields"), AssetKey("index_docs")}
    (run,) = site.harness.execute(reqs)
    assert run.success
    after = httpx.get(f"{site.url}/result/{site.doc_a}", headers=_auth("admin")).json()
    inv = next(f for f in after["fields"] if f["name"] == "invoice_number")
    assert (inv["value"], inv["source"], inv["confidence"]) == ("PO-5531", "human", 1.0)
    assert next(f for f in after["fields"] if f["name"] == "issuer")["source"] == "human"
    assert after["flags"] == []

    # n goes to the next flagged document; the reviewed one has left the queue
    page.keyboard.press("n")
    page.wait_for_url(re.compile(r".*/review/(?!" + re.escape(site.doc_a) + r"$)[^/]+$"))
    page.goto(f"{site.url}/review")
    page.wait_for_selector("#queue-table tbody tr")
    assert set(_queue_ids(page)) == {site.doc_b, site.fake}
    assert page.js_errors == []


# ---- the read-only viewer ------------------------------------------------------------------------------------


def test_viewer_for_the_uploader(site, tmp_path):
    page = site.page(token("ursula", "uploader"))
    _open_doc(site, page, f"/view/{site.doc_b}")
    result = httpx.get(f"{site.url}/result/{site.doc_b}", headers=_auth("uploader", "ursula")).json()
    p1 = result["pages"][0]
    assert page.locator("#submit-review").count() == 0  # read-only
    assert page.locator(".word").count() == len(p1["words"])
    assert page.locator(".block").count() == len(p1["blocks"]) > 0
    assert page.locator(".block").first.is_visible()
    page.keyboard.press("b")
    assert not page.locator(".block").first.is_visible()

    # the text layer: invisible until toggled, then the words are legible over the image, and selectable
    wt = page.locator(".word .wt", has_text=re.compile("^INVOICE$"))
    assert wt.evaluate("e => getComputedStyle(e).color") == "rgba(0, 0, 0, 0)"
    page.keyboard.press("t")
    assert wt.evaluate("e => getComputedStyle(e).color") != "rgba(0, 0, 0, 0)"
    assert page.locator(".word .wt").first.evaluate("e => getComputedStyle(e).userSelect") != "none"
    page.keyboard.press("b")
    page.screenshot(path=str(tmp_path / "viewer.png"))  # kept by pytest's tmp_path, to look at when it fails
    page.keyboard.press("b")

    # tables as tables
    table = page.locator("#tables table").first
    assert table.locator("th").all_inner_texts() == result["tables"][0]["rows"][0]
    assert "Courier pickup" in table.inner_text()
    assert page.locator(".tbox").count() == len([t for t in result["tables"] if t["bbox"]])

    # zoom changes the page width and the boxes follow
    w0 = page.locator(".page").bounding_box()["width"]
    page.keyboard.press("+")
    w1 = page.locator(".page").bounding_box()["width"]
    assert w1 == pytest.approx(w0 * 1.25, abs=2)
    word = page.locator(".word").first.bounding_box()
    img = page.locator(".page > img").bounding_box()
    assert abs(word["x"] - (img["x"] + p1["words"][0]["bbox"][0] * img["width"] / p1["width"])) < 2

    # the owner sees the IBAN unmasked? No: uploaders see masked values, as the API returns them
    assert "*" in page.locator("#fields li[data-name=iban] .fvalue").inner_text()

    # someone else's document is not revealed
    other = site.page(token("mallory", "uploader"))
    other.goto(f"{site.url}/view/{site.doc_b}")
    other.wait_for_selector(".banner")
    assert "404" in other.inner_text(".banner")
    assert page.js_errors == [] and other.js_errors == []
