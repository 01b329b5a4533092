"""The dashboard is static files served beside the API, and its script talks only to the API."""
from __future__ import annotations

import asyncio
import re

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from api.dashboard import STATIC_DIR, setup


async def _get(paths: list[str]) -> list[tuple[int, str, str]]:
    app = web.Application()
    setup(app)
    async with TestClient(TestServer(app)) as client:
        answers = []
        for path in paths:
            response = await client.get(path)
            answers.append((response.status, response.content_type, await response.text()))
        return answers


def test_the_page_and_its_files_are_served():
    (page_status, page_type, page), (js_status, js_type, script), (css_status, _, _), (missing, _, _) = asyncio.run(
        _get(["/", "/dashboard/static/app.js", "/dashboard/static/style.css", "/dashboard/static/nothing.js"]))
    assert (page_status, page_type) == (200, "text/html")
    assert 'src="/dashboard/static/app.js"' in page and 'lang="zh-CN"' in page
    assert js_status == 200 and "javascript" in js_type and "function route()" in script
    assert css_status == 200 and missing == 404


def test_the_script_reads_only_the_http_api():
    script = (STATIC_DIR / "app.js").read_text(encoding="utf-8")
    literals = re.findall(r'"((?:[^"\\\n]|\\.)*)"', script)
    paths = {text for text in literals if re.fullmatch(r"/[a-z][\w/?=&.-]*", text)}
    # every path the script builds is an API path (or the end of a department's one: "/summary", "/catalog", …)
    ends = ("/summary", "/deadlines.ics", "/catalog", "/resources/")
    assert paths and all(path.startswith("/api/") or path in ends for path in paths), sorted(paths)
    assert script.count("fetch(") == 1  # one place talks to the server: api(path)
    assert "http://" not in script.replace('xmlns="http://www.w3.org/2000/svg"', "")  # no CDN, no other host
