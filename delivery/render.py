"""A message as plain text, HTML and markdown; the words come from ``models.wording``, the layout is here."""
from __future__ import annotations

import html

from models import wording
from models.delivery import Message, Notice

LEVEL_COLOURS = {"blue": "#1f6feb", "yellow": "#b7950b", "red": "#c0392b"}
ROBOT_TEXT_LIMIT = 1200  # characters of an explanation a chat message carries (robots cap a message's size)


def plain_text(message: Message) -> str:
    lines = [message.greeting, ""]
    if message.is_digest:
        lines += [wording.digest_intro(len(message.notices)), ""]
    for index, notice in enumerate(message.notices, start=1):
        prefix = f"{index}. " if message.is_digest else ""
        lines.append(prefix + notice.title)
        lines += [f"  {label}：{value}" for label, value in notice.facts]
        if notice.text:
            lines += ["", notice.text]
        if notice.link:
            lines.append(f"{wording.zh(wording.NOTICE_FACTS, 'link')}：{notice.link}")
        lines.append("")
    lines += [_ids_note(message), "", wording.footer_text()]
    return "\n".join(lines).strip() + "\n"


def html_text(message: Message) -> str:
    parts = [f"<p>{html.escape(message.greeting)}</p>"]
    if message.is_digest:
        parts.append(f"<p>{html.escape(wording.digest_intro(len(message.notices)))}</p>")
    for notice in message.notices:
        colour = LEVEL_COLOURS.get(notice.level, "#333333")
        parts.append(f'<h2 style="color:{colour};font-size:18px">{html.escape(notice.title)}</h2>')
        rows = "".join(f'<tr><th style="text-align:left;padding:2px 12px 2px 0">{html.escape(label)}</th>'
                       f"<td>{html.escape(value)}</td></tr>" for label, value in notice.facts)
        parts.append(f'<table style="border-collapse:collapse">{rows}</table>')
        if notice.text:
            parts.append(f'<pre style="white-space:pre-wrap;font-family:inherit">{html.escape(notice.text)}</pre>')
        if notice.link:
            parts.append(f'<p><a href="{html.escape(notice.link, quote=True)}">'
                         f"{html.escape(wording.zh(wording.NOTICE_FACTS, 'link'))}</a></p>")
    parts.append(f'<p style="color:#6b7785">{html.escape(_ids_note(message))}<br>'
                 f"{html.escape(wording.footer_text())}</p>")
    return '<!doctype html><html lang="zh-CN"><meta charset="utf-8"><body>' + "".join(parts) + "</body></html>\n"


def markdown(message: Message) -> str:
    """Markdown for the chat robots, ending with the @-mentions (DingTalk also needs them in the text)."""
    lines = [f"#### {message.subject}", "", message.greeting, ""]
    if message.is_digest:
        lines += [wording.digest_intro(len(message.notices)), ""]
    for notice in message.notices:
        if message.is_digest:
            lines += [f"**{notice.title}**", ""]
        lines += [f"> **{label}**：{value}" for label, value in notice.facts]
        lines.append("")
        if notice.text and not message.is_digest:
            lines += [_short(notice), ""]
        if notice.link:
            lines += [f"[{wording.zh(wording.NOTICE_FACTS, 'link')}]({notice.link})", ""]
    lines.append(_ids_note(message))
    if message.mentions:
        lines += ["", wording.robot_mentions(list(message.mentions))]
    return "\n".join(lines)


def _short(notice: Notice) -> str:
    text = notice.text.replace("\n", "\n\n")
    if len(text) <= ROBOT_TEXT_LIMIT:
        return text
    return text[:ROBOT_TEXT_LIMIT] + wording.truncated_note(notice.link)


def _ids_note(message: Message) -> str:
    return wording.notification_id_note(*(n.notification_id for n in message.notices))
