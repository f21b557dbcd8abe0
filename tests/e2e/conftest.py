"""Real-browser fixtures: the app served on loopback, Debian's Chromium driven by Playwright,
and a fake phone camera that films a QR code (see ../shared/e2e-camera.md)."""

import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
BASE_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]


def pytest_collection_modifyitems(config, items):
    missing = [tool for tool in (CHROMIUM, "ffmpeg") if not shutil.which(tool)]
    if missing:
        reason = f"e2e needs {', '.join(missing)} (make test installs them)"
        print(f"\nSKIPPING browser tests: {reason}")
        for item in items:
            if "e2e" in str(item.fspath):
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def live_server(app):
    """Serve the test's app on 127.0.0.1 (a secure context for getUserMedia)."""
    app.config["BASE_URL"] = "http://127.0.0.1:0"  # replaced below once the port is known
    server = make_server("127.0.0.1", 0, app, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    app.config["BASE_URL"] = base
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base
    server.shutdown()
    thread.join(5)


def qr_video(data: str, path: Path) -> Path:
    """Make a 1 s, 5 fps Y4M video of a QR code of ``data``, centred at 240 px in 640x480."""
    import segno

    png = path.with_suffix(".png")
    segno.make(data, error="m").save(str(png), scale=10, border=4)
    subprocess.run(
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-y",
            "-loop",
            "1",
            "-i",
            str(png),
            "-vf",
            "scale=240:240:flags=neighbor,pad=640:480:(ow-iw)/2:(oh-ih)/2:color=white",
            "-t",
            "1",
            "-r",
            "5",
            "-pix_fmt",
            "yuv420p",
            str(path),
        ],
        check=True,
    )
    return path


@pytest.fixture(scope="session")
def playwright_instance():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture
def phone(playwright_instance, live_server, tmp_path):
    """``phone(camera_data=None)`` → a Playwright page on a Pixel 7 whose camera films a QR of
    ``camera_data``. Requests leaving the app's origin are blocked and recorded in
    ``page.offsite_requests``."""
    browsers = []

    def open_phone(camera_data: str | None = None, name: str = "phone"):
        args = list(BASE_ARGS)
        if camera_data is not None:
            video = qr_video(camera_data, tmp_path / f"{name}.y4m")
            args.append(f"--use-file-for-fake-video-capture={video}")
        browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=args)
        browsers.append(browser)
        context = browser.new_context(**playwright_instance.devices["Pixel 7"])
        offsite = []

        def route(r):
            if r.request.url.startswith(live_server):
                return r.continue_()
            offsite.append(r.request.url)
            return r.abort()

        context.route("**/*", route)
        page = context.new_page()
        page.offsite_requests = offsite
        page.set_default_timeout(10_000)
        return page

    yield open_phone
    for browser in browsers:
        browser.close()


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
