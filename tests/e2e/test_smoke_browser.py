"""The browser harness itself: the app is reachable and the fake camera delivers frames."""

from playwright.sync_api import expect


def test_healthz_in_real_browser(phone, live_server):
    page = phone()
    page.goto(f"{live_server}/healthz")
    expect(page.locator("body")).to_contain_text('"status"')


def test_fake_camera_streams_video(phone, live_server):
    page = phone(camera_data="https://example.test/x")
    page.goto(f"{live_server}/healthz")
    width = page.evaluate(
        """async () => {
            const s = await navigator.mediaDevices.getUserMedia({video: true});
            const w = s.getVideoTracks()[0].getSettings().width;
            s.getTracks().forEach(t => t.stop());
            return w; }"""
    )
    assert width == 640
