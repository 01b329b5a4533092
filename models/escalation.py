"""The escalation ladder (三色预警): who is told of each reminder stage and of a violation, at which level.

Policy data in ``config/escalation.yaml``, checked when delivery starts: a
mistake raises ``EscalationError`` naming the file, the line and the problem,
like the policy files. ``people_for`` turns a step into the people of the
department registry it names; ``models.delivery`` plans the messages.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from models.departments import Contact, DepartmentRegistry
from models.yamlnodes import ConfigFileError, Node, compose_file

STAFF = "staff"
HEAD = "head"
SUPERVISOR = "supervisor"
ROLES = (STAFF, HEAD, SUPERVISOR)

BLUE = "blue"
YELLOW = "yellow"
RED = "red"
LEVELS = (BLUE, YELLOW, RED)

EMAIL = "email"
DINGTALK = "dingtalk"
WECOM = "wecom"
WEBHOOK = "webhook"
PERSON_CHANNELS = (EMAIL, DINGTALK, WECOM)  # what a step may name; the webhook takes every notification


class EscalationError(ConfigFileError):
    """The ladder file cannot be used; the message names the file, the line and the problem."""


@dataclass(frozen=True)
class Step:
    roles: tuple[str, ...]
    level: str
    channels: tuple[str, ...] | None = None  # None: every configured channel
    line: int | None = None

    def uses(self, channel: str) -> bool:
        return self.channels is None or channel in self.channels


@dataclass(frozen=True)
class RetryPolicy:
    first_delay_seconds: float = 30.0
    max_delay_seconds: float = 1800.0
    max_attempts: int = 10

    def delay(self, attempts: int) -> float:
        """Seconds to wait after the ``attempts``-th failed try: doubling from the first delay, capped."""
        return min(self.max_delay_seconds, self.first_delay_seconds * 2 ** max(0, attempts - 1))


@dataclass(frozen=True)
class Ladder:
    stages: dict[int, Step]
    violation: Step
    digest: bool = False
    digest_wait_seconds: float = 120.0
    retry: RetryPolicy = RetryPolicy()
    robot_messages_per_minute: int = 20
    max_age_hours: float = 168.0
    path: str = ""
    reminders_line: int | None = None

    def step_for_stage(self, stage: int) -> Step | None:
        return self.stages.get(stage)

    def roles_used(self) -> set[str]:
        return {role for step in (*self.stages.values(), self.violation) for role in step.roles}

    def check_stages(self, stages: Iterable[int], where: str) -> None:
        """Every stage a policy sends needs a step; otherwise its reminders would reach nobody."""
        missing = sorted(set(stages) - set(self.stages), reverse=True)
        if missing:
            raise EscalationError(self.path, self.reminders_line,
                                  f"reminders: no step for stage {', '.join(map(str, missing))} that {where} sends; "
                                  f"add it to a step's stages")


def people_for(step: Step, department: str, registry: DepartmentRegistry) -> list[Contact]:
    """The people a step names for a department's notification, each once, in ladder order."""
    found: dict[str, Contact] = {}
    own = registry.get(department)
    supervisor = registry.supervisor()
    for role in step.roles:
        if role == STAFF and own is not None:
            people: Iterable[Contact] = own.contacts.staff
        elif role == HEAD and own is not None:
            people = [own.contacts.head] if own.contacts.head else []
        elif role == SUPERVISOR and supervisor is not None:
            people = [c for c in (supervisor.contacts.head, *supervisor.contacts.staff) if c is not None]
        else:
            people = []
        for person in people:
            found.setdefault(person.key, person)
    return list(found.values())


def missing_contacts(registry: DepartmentRegistry, ladder: Ladder) -> list[tuple[str, tuple[str, ...]]]:
    """(department code, roles it lacks) for every department lacking a role the ladder tells.

    ``supervisor`` is listed against the data resource center when it has no
    contacts, and against ``-`` when the registry marks no supervisor at all.
    """
    roles = ladder.roles_used()
    result: list[tuple[str, tuple[str, ...]]] = []
    supervisor = registry.supervisor()
    if SUPERVISOR in roles and supervisor is None:
        result.append(("-", (SUPERVISOR,)))
    for department in registry:
        lacking = [role for role, present in ((STAFF, bool(department.contacts.staff)),
                                              (HEAD, department.contacts.head is not None))
                   if role in roles and not present]
        if SUPERVISOR in roles and department.supervisor and not department.contacts:
            lacking.append(SUPERVISOR)
        if lacking:
            result.append((department.code, tuple(lacking)))
    return result


# ------------------------------------------------------------------ reading the file

def load_ladder(path: str | Path) -> Ladder:
    path = Path(path)
    try:
        return _read(compose_file(path))
    except EscalationError:
        raise
    except ConfigFileError as exc:
        raise EscalationError(exc.path, exc.line, exc.problem) from None


def _read(root: Node) -> Ladder:
    top = root.mapping()
    for key, node in top.items():
        if key not in ("reminders", "violations", "digest", "digest_wait_seconds", "delivery"):
            raise node.error(f"unknown key {key!r}; the ladder has reminders, violations, digest, "
                             f"digest_wait_seconds and delivery")
    reminders = root.child(top, "reminders")
    stages: dict[int, Step] = {}
    for item in reminders.sequence():
        fields = item.mapping()
        stages_node = item.child(fields, "stages")
        step = _step(item, fields)
        for stage_node in stages_node.sequence():
            stage = stage_node.integer()
            if stage < 0:
                raise stage_node.error(f"stage {stage} is negative; stages are working days left (0 = the due day)")
            if stage in stages:
                raise stage_node.error(f"stage {stage} has two steps (lines {stages[stage].line} and {item.line})")
            stages[stage] = step
    violations = root.child(top, "violations")
    violation = _step(violations, violations.mapping())
    digest = root.child(top, "digest", required=False)
    wait = root.child(top, "digest_wait_seconds", required=False)
    delivery = root.child(top, "delivery", required=False)
    fields = delivery.mapping() if delivery.present else {}
    for key, node in fields.items():
        if key not in _DELIVERY_KEYS:
            raise node.error(f"unknown delivery setting {key!r}; known: {', '.join(_DELIVERY_KEYS)}")
    number = lambda key, default: _positive(delivery.child(fields, key, required=False), default)  # noqa: E731
    attempts_node = delivery.child(fields, "max_attempts", required=False)
    attempts = attempts_node.integer() if attempts_node.present else 10
    if attempts < 1:
        raise attempts_node.error("delivery.max_attempts must be at least 1")
    rate_node = delivery.child(fields, "robot_messages_per_minute", required=False)
    rate = rate_node.integer() if rate_node.present else 20
    if rate < 1:
        raise rate_node.error("delivery.robot_messages_per_minute must be at least 1")
    retry = RetryPolicy(first_delay_seconds=number("first_delay_seconds", 30.0),
                        max_delay_seconds=number("max_delay_seconds", 1800.0), max_attempts=attempts)
    if retry.max_delay_seconds < retry.first_delay_seconds:
        raise delivery.error("delivery.max_delay_seconds is less than first_delay_seconds")
    return Ladder(stages=stages, violation=violation, digest=digest.boolean() if digest.present else False,
                  digest_wait_seconds=_positive(wait, 120.0), retry=retry, robot_messages_per_minute=rate,
                  max_age_hours=number("max_age_hours", 168.0), path=str(root.path), reminders_line=reminders.line)


_DELIVERY_KEYS = ("first_delay_seconds", "max_delay_seconds", "max_attempts", "robot_messages_per_minute",
                  "max_age_hours")


def _step(node: Node, fields: dict[str, Node]) -> Step:
    for key, child in fields.items():
        if key not in ("stages", "notify", "level", "channels"):
            raise child.error(f"unknown key {key!r}; a step has stages (reminders only), notify, level and channels")
    notify = node.child(fields, "notify")
    roles = []
    for item in notify.sequence():
        role = item.string()
        if role not in ROLES:
            raise item.error(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
        if role in roles:
            raise item.error(f"role {role} is listed twice")
        roles.append(role)
    if not roles:
        raise notify.error("notify lists nobody; name at least one of " + ", ".join(ROLES))
    level_node = node.child(fields, "level")
    level = level_node.string()
    if level not in LEVELS:
        raise level_node.error(f"unknown level {level!r}; levels are {', '.join(LEVELS)} (蓝/黄/红)")
    channels_node = node.child(fields, "channels", required=False)
    channels = None
    if channels_node.present:
        channels = tuple(item.string() for item in channels_node.sequence())
        for item, channel in zip(channels_node.sequence(), channels):
            if channel not in PERSON_CHANNELS:
                raise item.error(f"unknown channel {channel!r}; a step may use {', '.join(PERSON_CHANNELS)}")
    return Step(roles=tuple(roles), level=level, channels=channels, line=node.line)


def _positive(node: Node, default: float) -> float:
    if not node.present:
        return default
    value = node._scalar()
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise node.error(f"{node.name} must be a positive number of seconds or hours, got {value!r}")
    return float(value)
