"""Screenshots of the web pages for the docs, taken in Debian's Chromium against a running demo.

    shuzhi demo --port 8123 --data-dir /tmp/demo-cockpit &
    .venv/bin/python scripts/screenshots.py --base http://127.0.0.1:8123 --password <the demo accounts' password>
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"

SHOTS = [
    # (file, path, person, viewport)
    ("cockpit-1920x1080.png", "/", "leader.district", (1920, 1080)),
    ("cockpit-3840x1080.png", "/", "leader.district", (3840, 1080)),
    ("cockpit-1366x768.png", "/", "duty.district", (1366, 768)),
    ("events.png", "/events?state=registered", "duty.district", (1920, 1080)),
    ("tasks.png", "/tasks", "handler.cgj", (1600, 1000)),
    ("verify-phone.png", "/verify", None, (375, 812)),
    ("warnings.png", "/warnings?state=all", "duty.district", (1920, 1080)),
    ("indicators.png", "/indicators?code=RIVER_LEVEL&series=RIVER_LEVEL-008", "duty.district", (1920, 1080)),
    ("evaluation.png", "/evaluation", "leader.district", (1920, 1080)),
    ("admin-users.png", "/admin", "admin", (1600, 1000)),
]


def grid_worker_with_work(base: str, password: str) -> str:
    """A grid worker with an event waiting for verification in their grid (the demo has many)."""
    import httpx

    with httpx.Client(base_url=base, timeout=30) as http:
        signed_in = http.post("/api/auth/login", json={"code": "admin", "password": password})
        signed_in.raise_for_status()
        events = http.get("/api/events", params={"state": "reported_back", "limit": 100}).json()["items"]
        for e in events:
            if not e["area_code"]:
                continue
            people = http.get("/api/people", params={"unit_code": f"G{e['area_code']}", "role": "grid_worker"}).json()
            if people:
                return str(people[0]["code"])
    return "grid.longgang01"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="http://127.0.0.1:8123")
    parser.add_argument("--password", required=True, help="the demo accounts' password")
    parser.add_argument("--only", default=None, help="take only the shot whose file name contains this")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox"])
        for name, path, who, (w, h) in SHOTS:
            if args.only and args.only not in name:
                continue
            who = who or grid_worker_with_work(args.base, args.password)
            context = browser.new_context(viewport={"width": w, "height": h}, device_scale_factor=1)
            context.request.post(f"{args.base}/api/auth/login", data={"code": who, "password": args.password})
            page = context.new_page()
            page.goto(f"{args.base}{path}")
            page.wait_for_selector("body[data-ready='1']", timeout=30_000)
            page.wait_for_timeout(2500)  # charts animate in
            page.screenshot(path=str(OUT / name), full_page=name.startswith("verify"))
            context.close()
        # the event page of an event waiting for dispatch: the rules' suggestion and the timeline
        context = browser.new_context(viewport={"width": 1920, "height": 1080})
        context.request.post(f"{args.base}/api/auth/login", data={"code": "duty.district", "password": args.password})
        page = context.new_page()
        page.goto(f"{args.base}/events?state=registered")
        page.wait_for_selector("body[data-ready='1']")
        link = page.locator("#events-body a").first
        if link.count() and (not args.only or args.only in "event-detail.png"):
            link.click()
            page.wait_for_selector("body[data-ready='1']")
            page.wait_for_timeout(1500)
            page.screenshot(path=str(OUT / "event-detail.png"))
        # the plans page with the board of the newest run (the demo's flood plan runs on its warnings)
        if not args.only or args.only in "plans.png":
            page.goto(f"{args.base}/plans")
            page.wait_for_selector("body[data-ready='1']")
            run = page.locator("#runs-active .run-link, #runs-past .run-link").first
            if run.count():
                run.click()
                page.wait_for_selector("#board-body[data-run]")
            page.wait_for_timeout(500)
            page.screenshot(path=str(OUT / "plans.png"), full_page=True)
        browser.close()


if __name__ == "__main__":
    main()
