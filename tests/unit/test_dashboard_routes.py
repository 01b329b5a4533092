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


def test_the_page_keeps_no_words_of_its_own():
    """Every label comes from models/wording.py: the script fetches them, the page's placeholders are filled."""
    import re

    from api.dashboard import STATIC_DIR, page
    from models import wording

    script = (STATIC_DIR / "app.js").read_text(encoding="utf-8")
    code = re.sub(r"/\*.*?\*/", "", script, flags=re.S)  # comments may cite articles
    chinese = re.findall(r"[\u4e00-\u9fff]+", code)
    assert chinese == ["中文"], chinese  # the language switch names the other language in it
    html = page()
    assert "{{" not in html and wording.DASHBOARD["app_title"][0] in html and wording.DASHBOARD["footer"][0] in html
    tables = wording.dashboard_tables()
    for key in re.findall(r'\bt\("(\w+)"\)', script):  # every label the script asks for exists
        assert key in tables["labels"], key
