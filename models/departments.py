"""The department registry: which codes exist, what each department is called, and who answers for it.

Read from ``config/departments.yaml`` (sample data an operator edits). Events
naming a code that is not here are dead-lettered by the service.

A department may name its contacts (第五条: the principal head is the first
person responsible, with dedicated staff) and its own chat robots; the data
resource center, the supervisor, is the department marked ``supervisor: true``
and names its contacts the same way. Who is told what is ``models.escalation``'s
business; this module only reads and checks the people and their addresses.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from models.yamlnodes import ConfigFileError, Node, compose_file

KINDS = ("department", "street", "town")
KIND_NAMES_ZH = {"department": "区直部门", "street": "街道", "town": "镇"}
_CODE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class RegistryError(ConfigFileError):
    """The registry file cannot be used; the message names the file and line."""


HEAD = "head"
STAFF = "staff"
_EMAIL_RE = re.compile(r"^[^@\s<>\"(),;:]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_MOBILE_RE = re.compile(r"^1[3-9][0-9]{9}$")


@dataclass(frozen=True)
class Contact:
    """One person to tell: the head (第一责任人) or a staff member (专职人员) of a department."""

    name: str
    role: str  # HEAD or STAFF
    department: str
    title: str | None = None
    email: str | None = None
    mobile: str | None = None  # 11-digit mainland mobile number, as DingTalk/WeCom @-mention it

    @property
    def key(self) -> str:
        """Names the person in the delivery log: their department, role and name."""
        return f"{self.department}/{self.role}/{self.name}"


@dataclass(frozen=True)
class Robot:
    """A department's own group robot (DingTalk custom robot or WeCom group robot)."""

    webhook: str
    secret: str | None = None  # DingTalk 加签 secret (SEC…); WeCom robots have none


@dataclass(frozen=True)
class Contacts:
    head: Contact | None = None
    staff: tuple[Contact, ...] = ()

    def __bool__(self) -> bool:
        return self.head is not None or bool(self.staff)


@dataclass(frozen=True)
class Department:
    code: str
    name: str
    kind: str = "department"
    contacts: Contacts = Contacts()
    supervisor: bool = False  # the data resource center (区数据资源中心)
    robots: tuple[tuple[str, Robot], ...] = ()  # (channel, robot): "dingtalk" / "wecom"

    def robot(self, channel: str) -> Robot | None:
        return next((robot for name, robot in self.robots if name == channel), None)

    def label(self) -> str:
        """How explanations name a department: 区教育局（jyj）."""
        return f"{self.name}（{self.code}）"

    def to_dict(self) -> dict:
        return {"code": self.code, "name": self.name, "kind": self.kind, "kind_zh": KIND_NAMES_ZH[self.kind]}


class DepartmentRegistry:
    def __init__(self, departments: Iterable[Department], sample_data: bool = False):
        self._by_code = {d.code: d for d in departments}
        self.sample_data = sample_data

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def __iter__(self) -> Iterator[Department]:
        return iter(self._by_code.values())

    def __len__(self) -> int:
        return len(self._by_code)

    def get(self, code: str) -> Department | None:
        return self._by_code.get(code)

    def label(self, code: str) -> str:
        department = self._by_code.get(code)
        return department.label() if department else code

    def name_of(self, code: str) -> str:
        department = self._by_code.get(code)
        return department.name if department else code

    def unknown(self, codes: Iterable[str]) -> list[str]:
        return [code for code in codes if code not in self._by_code]

    def supervisor(self) -> Department | None:
        """The data resource center (the department marked ``supervisor: true``), if the registry names one."""
        return next((d for d in self._by_code.values() if d.supervisor), None)


def load_registry(path: str | Path) -> DepartmentRegistry:
    path = Path(path)
    try:
        root = compose_file(path)
        top = root.mapping()
        sample = root.child(top, "sample_data", required=False)
        departments: list[Department] = []
        seen: set[str] = set()
        for item in root.child(top, "departments").sequence():
            fields = item.mapping()
            code_node = item.child(fields, "code")
            code = code_node.string()
            if not _CODE_RE.match(code):
                raise code_node.error(f"department code {code!r} must be short lowercase ASCII (a-z, 0-9, - or _)")
            if code in seen:
                raise code_node.error(f"department code {code!r} is listed twice")
            seen.add(code)
            kind_node = item.child(fields, "kind", required=False)
            kind = kind_node.string() if kind_node.present else "department"
            if kind not in KINDS:
                raise kind_node.error(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
            supervisor_node = item.child(fields, "supervisor", required=False)
            supervisor = supervisor_node.boolean() if supervisor_node.present else False
            if supervisor and any(d.supervisor for d in departments):
                raise supervisor_node.error("only one department may be the supervisor (the data resource center)")
            departments.append(Department(
                code=code, name=item.child(fields, "name").string(), kind=kind,
                contacts=_contacts(item.child(fields, "contacts", required=False), code),
                supervisor=supervisor, robots=_robots(item.child(fields, "robots", required=False))))
    except RegistryError:
        raise
    except ConfigFileError as exc:
        raise RegistryError(exc.path, exc.line, exc.problem) from None
    return DepartmentRegistry(departments, sample_data=sample.boolean() if sample.present else False)


def _contacts(node: Node, department: str) -> Contacts:
    if not node.present:
        return Contacts()
    fields = node.mapping()
    for key, child in fields.items():
        if key not in (HEAD, STAFF):
            raise child.error(f"contacts may name head and staff, not {key!r}")
    head_node = node.child(fields, HEAD, required=False)
    head = _contact(head_node, HEAD, department) if head_node.present else None
    staff_node = node.child(fields, STAFF, required=False)
    staff = tuple(_contact(item, STAFF, department) for item in staff_node.sequence()) if staff_node.present else ()
    names = [c.name for c in ([head] if head else []) + list(staff)]
    for name in names:
        if names.count(name) > 1:
            raise node.error(f"contacts name {name!r} twice; give each person once")
    return Contacts(head=head, staff=staff)


def _contact(node: Node, role: str, department: str) -> Contact:
    fields = node.mapping()
    for key, child in fields.items():
        if key not in ("name", "title", "email", "mobile"):
            raise child.error(f"a contact has name, title, email and mobile, not {key!r}")
    email_node = node.child(fields, "email", required=False)
    email = email_node.string().strip() if email_node.present else None
    if email is not None and not _EMAIL_RE.match(email):
        raise email_node.error(f"{email!r} is not an email address")
    mobile_node = node.child(fields, "mobile", required=False)
    mobile = mobile_node.string().strip() if mobile_node.present else None
    if mobile is not None and not _MOBILE_RE.match(mobile):
        raise mobile_node.error(f"mobile {mobile!r} must be an 11-digit mobile number in quotes, like \"13800000000\"")
    title_node = node.child(fields, "title", required=False)
    contact = Contact(name=node.child(fields, "name").string(), role=role, department=department,
                      title=title_node.string() if title_node.present else None, email=email, mobile=mobile)
    if contact.email is None and contact.mobile is None:
        raise node.error(f"contact {contact.name} has neither email nor mobile: nobody could reach them")
    return contact


ROBOT_CHANNELS = ("dingtalk", "wecom")


def _robots(node: Node) -> tuple[tuple[str, Robot], ...]:
    if not node.present:
        return ()
    robots = []
    for channel, child in node.mapping().items():
        if channel not in ROBOT_CHANNELS:
            raise child.error(f"robots may name {' and '.join(ROBOT_CHANNELS)}, not {channel!r}")
        fields = child.mapping()
        webhook_node = child.child(fields, "webhook")
        webhook = webhook_node.string()
        if not webhook.startswith(("http://", "https://")):
            raise webhook_node.error(f"robot webhook {webhook!r} must be an http(s) URL")
        secret_node = child.child(fields, "secret", required=False)
        robots.append((channel, Robot(webhook=webhook, secret=secret_node.string() if secret_node.present else None)))
    return tuple(robots)
