"""The page in a real headless Chromium (Debian's, driven by Playwright): upload,
search, the right thumbnail first, a duplicate group reviewed and moved, and a
screenshot that must show a working page (it is the README's picture)."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from PIL import Image

import ris_core
from ris_core.server import ServerSettings, create_app
from ris_core.system import ImageSearch
from tests.core.test_storage import made_read_only
from tests.server.conftest import LiveServer, copy_jpeg, png

if TYPE_CHECKING:  # imported in the fixture, so a missing package fails with a message
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "serve.png"

pytestmark = pytest.mark.slow


def require_chromium(path: Path = CHROMIUM) -> None:
    """Fail (never skip) when the browser is missing, saying how to install it."""
    if not path.exists():
        pytest.fail(
            f"the browser tests need Debian's Chromium at {path}: "
            "apt-get update && apt-get install -y chromium chromium-driver"
        )


def test_a_missing_chromium_fails_with_how_to_install_it(tmp_path: Path) -> None:
    with pytest.raises(pytest.fail.Exception, match="apt-get install -y chromium chromium-driver"):
        require_chromium(tmp_path / "no-chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    require_chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the browser tests need Playwright's Python package: pip install -e '.[dev]'")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@contextlib.contextmanager
def opened_page(browser: Browser, server: LiveServer) -> Iterator[Page]:
    """The page of ``server``, loaded; on leaving, no script error may have happened on it."""
    context = browser.new_context(viewport={"width": 1280, "height": 860}, base_url=server.url)
    opened = context.new_page()
    problems: list[str] = []
    opened.on("pageerror", lambda error: problems.append(str(error)))
    opened.on("dialog", lambda dialog: dialog.accept())
    opened.goto("/")
    opened.wait_for_selector("body[data-ready=yes]")
    yield opened
    context.close()
    assert problems == [], problems  # no script error on the page


@pytest.fixture
def page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    with opened_page(browser, live_server) as opened:
        yield opened


def photos(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for seed in range(1, 6):
        path = folder / f"p{seed}.png"
        path.write_bytes(png(seed))
        written.append(path)
    return written


def upload(page: Page, files: list[Path]) -> None:
    page.click("#tabs button[data-tab=ingest]")
    page.set_input_files("#ingest-files", [str(f) for f in files])
    page.wait_for_selector("#message:has-text('ingest finished')")


def search(page: Page, query: Path) -> list[str]:
    page.click("#tabs button[data-tab=search]")
    page.set_input_files("#search-file", str(query))
    page.wait_for_selector("#results .result img")
    # Polled from here: the page's CSP (rightly) forbids the eval wait_for_function needs.
    images = page.locator("#results img")
    deadline = time.monotonic() + 20
    while not images.evaluate_all("all => all.every(i => i.complete && i.naturalWidth > 0)"):
        assert time.monotonic() < deadline, "the result thumbnails did not load"
        time.sleep(0.05)
    return page.eval_on_selector_all("#results .result", "cards => cards.map(c => c.dataset.id)")


def test_upload_then_search_ranks_the_right_thumbnail_first(page: Page, tmp_path: Path) -> None:
    upload(page, photos(tmp_path / "photos"))
    assert "5 added" in page.text_content("#message")
    query = tmp_path / "query.jpg"
    query.write_bytes(copy_jpeg(3))
    ranked = search(page, query)
    assert ranked[0] == "p3.png"
    first = page.locator("#results .result").first
    width = first.locator("img").evaluate("img => img.naturalWidth")
    source = first.locator("img").get_attribute("src")
    assert "/thumbnails/p3.png" in source and 0 < width <= 160  # a thumbnail, never the full image
    first.click()
    page.wait_for_selector("#compare-text:has-text('similarity')")
    # The picture shows once it has loaded: wait for it (this fails, with a timeout, if it never shows).
    page.wait_for_selector("#compare-right img", state="visible")


def test_review_a_duplicate_group_and_apply_a_move(page: Page, settings: ServerSettings, system: ImageSearch) -> None:
    allowed = Path(settings.folders[0])
    library = allowed / "library"
    photos(library)
    (library / "p2-small.jpg").write_bytes(copy_jpeg(2))
    page.click("#tabs button[data-tab=ingest]")
    page.wait_for_selector("#ingest-folder option", state="attached")
    page.fill("#ingest-sub", "library")
    page.click("#ingest-folder-go")
    page.wait_for_selector("#message:has-text('ingest finished')")
    # Ingested from a folder on the server: stored by reference, each image its file.
    context = system.context("default")
    assert context.by_reference
    assert context.image_info("p2-small.jpg").source == library / "p2-small.jpg"

    page.click("#tabs button[data-tab=duplicates]")
    page.click("#dup-find")
    page.wait_for_selector(".group .member")
    members = page.eval_on_selector_all(".group .member", "m => m.map(e => e.dataset.id)")
    assert members == ["p2-small.jpg", "p2.png"]
    facts = page.text_content(".group")
    for fact in ("resolution", "320\u00d7240", "size", "date", "link score", str(library / "p2.png")):
        assert fact in facts, fact
    page.select_option("#dup-keep", "largest-resolution")
    page.select_option("#dup-action", "move")
    page.fill("#dup-to", str(allowed / "aside"))
    # By hand first: keep the small copy, and the plan moves the original.
    page.check("input[aria-label='keep p2-small.jpg']")
    page.click("#dup-plan")
    page.wait_for_selector("#dup-plan-view .plan-step:has-text('move p2.png')")
    assert "(keeping p2-small.jpg)" in page.text_content("#dup-plan-view")
    page.check("input[aria-label='keep p2.png']")
    assert page.is_disabled("#dup-apply")  # the plan shown no longer matches the choice
    page.click("#dup-plan")
    page.wait_for_selector("#dup-plan-view .plan-step:has-text('move p2-small.jpg')")
    assert "(keeping p2.png)" in page.text_content("#dup-plan-view")
    assert (library / "p2-small.jpg").exists()  # shown, not done
    page.click("#dup-apply")
    page.wait_for_selector("#message:has-text('applied: 1 of 1')")
    assert not (library / "p2-small.jpg").exists() and (allowed / "aside" / "p2-small.jpg").exists()
    assert page.text_content("#dup-groups").strip() == "no duplicates"
    assert "p2-small.jpg" not in context and context.image_info("p2.png").source == library / "p2.png"


def looks_broken(screenshot: bytes) -> str:
    """Why a screenshot does not show a working page ("" when it does)."""
    image = Image.open(io.BytesIO(screenshot)).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20) or []
    if len(colours) < 64:
        return f"only {len(colours)} colours: an empty or unstyled page"
    largest = max(count for count, _ in colours)
    if largest > 0.97 * image.width * image.height:
        return "almost one colour throughout"
    return ""


def test_screenshot_shows_a_working_page(page: Page, tmp_path: Path) -> None:
    upload(page, photos(tmp_path / "photos"))
    query = tmp_path / "query.jpg"
    query.write_bytes(copy_jpeg(4))
    assert search(page, query)[0] == "p4.png"
    for selector in ("header h1", "#tabs", "#search-drop", "#results .result img", "#context"):
        assert page.is_visible(selector), selector
    assert page.eval_on_selector("link[rel=stylesheet]", "l => !!l.sheet")
    shot = page.screenshot(full_page=False)
    assert looks_broken(shot) == ""
    SCREENSHOT.parent.mkdir(exist_ok=True)
    SCREENSHOT.write_bytes(shot)
    # The check itself catches a blank page.
    page.set_content("<html><body></body></html>")
    assert looks_broken(page.screenshot()) != ""


def test_browse_pages_and_statistics_plot(page: Page, tmp_path: Path) -> None:
    upload(page, photos(tmp_path / "photos"))
    query = tmp_path / "query.jpg"
    query.write_bytes(copy_jpeg(1))
    search(page, query)
    page.click("#tabs button[data-tab=browse]")
    page.wait_for_selector("#browse-grid .card img")
    assert page.locator("#browse-grid .card").count() == 5
    assert "page 1 of 1" in page.text_content("#browse-page")
    page.click("#tabs button[data-tab=stats]")
    page.wait_for_selector("#stats-plot svg rect")
    assert "5 images" in page.text_content("#stats-counts")
    assert page.locator("#stats-plot svg rect").count() >= 3  # p50, p90, p99 of the searches
    assert "p1.png" in page.text_content("#most-matched")
    assert page.is_hidden("#stats-dropped")  # every search's statistics were written


def test_statistics_tab_says_how_many_searches_were_not_counted(
    browser: Browser, settings: ServerSettings, database: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ris_core.open("local", database=str(database)) as filling:
        filling.create_context("default").add_images(photos(tmp_path / "photos"), progress=False)
    # A read-only database answers searches but cannot keep their statistics.
    with (
        contextlib.contextmanager(made_read_only)(database, monkeypatch),
        ris_core.open("local", database=str(database)) as system,
        LiveServer(create_app(settings, system)) as server,
        opened_page(browser, server) as page,
    ):
        for seed in (2, 3):  # two queries: the page searches when the chosen file changes
            query = tmp_path / f"query{seed}.jpg"
            query.write_bytes(copy_jpeg(seed))
            search(page, query)
            page.wait_for_selector(f"#results .result:first-child[data-id='p{seed}.png']")
        page.click("#tabs button[data-tab=stats]")
        page.wait_for_selector("#stats-dropped:not([hidden])")
        counts = page.eval_on_selector_all("#stats-counts span", "spans => spans.map(s => s.textContent)")
        assert "5 images" in counts and "0 searches" in counts  # none of the two could be written
        dropped = page.text_content("#stats-dropped") or ""
        assert "2 more searches of this server process are not counted" in dropped and "read-only" in dropped
        status, document = api_json(server, "/api/contexts/default/stats")
        assert (status, document["dropped"]) == (200, 2)  # the page shows what /stats says


def api_json(server: LiveServer, path: str) -> tuple[int, Any]:
    """GET one of the server's API routes from outside the page: the status and the JSON body."""
    try:
        with urllib.request.urlopen(f"{server.url}{path}") as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.load(error)


def test_create_then_rename_a_collection_in_the_page(page: Page, live_server: LiveServer, tmp_path: Path) -> None:
    upload(page, photos(tmp_path / "photos"))
    page.click("#tabs button[data-tab=organise]")
    page.fill("#collection-name", "trip")
    page.fill("#collection-ids", "p1.png, p2.png")
    page.click("#collection-create")
    page.wait_for_selector("#collections li:has-text('trip: 2 image(s)')")
    page.fill("#collection-new-name", "holiday 2026")
    page.click("#collection-rename")
    page.wait_for_selector("#message:has-text('renamed collection trip to holiday 2026')")
    page.wait_for_selector("#collections li:has-text('holiday 2026: 2 image(s)')")
    assert "trip" not in page.text_content("#collections")
    assert page.input_value("#collection-name") == "holiday 2026"  # the next action is on the new name
    status, listed = api_json(live_server, "/api/contexts/default/collections")
    assert status == 200
    assert [(c["name"], c["image_count"]) for c in listed["collections"]] == [("holiday 2026", 2)]
    status, members = api_json(live_server, "/api/contexts/default/collections/holiday%202026")
    assert status == 200 and sorted(members["image_ids"]) == ["p1.png", "p2.png"]
    status, gone = api_json(live_server, "/api/contexts/default/collections/trip")
    assert status == 404, gone


def test_signing_in_with_the_token_then_changing_things(
    browser: Browser, settings: ServerSettings, system: ImageSearch
) -> None:
    app = create_app(dataclasses.replace(settings, token="page-token-123"), system)
    with LiveServer(app) as server:
        context = browser.new_context(base_url=server.url)
        page = context.new_page()
        page.goto("/")
        page.wait_for_selector("#login:not([hidden])")
        page.fill("#login input[name=token]", "page-token-123")
        page.click("#login button")
        page.wait_for_selector("body[data-ready=yes]")
        assert page.is_hidden("#login")
        page.fill("#new-context", "made-in-page")
        page.click("#create-context")  # a change signed by the cookie, from the page itself
        page.wait_for_selector("#message:has-text('created context made-in-page')")
        assert [info.name for info in system.list_contexts()] == ["made-in-page"]
        context.close()
