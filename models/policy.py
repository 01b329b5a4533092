"""Policies: the measures' time limits, reminder stages, rules and citations, as versioned data.

A policy file (``config/policies/*.yaml``) names its regulation, jurisdiction
and validity period, the obligation kinds with their limits in working days,
the reminder stages, and the content rules, each with the articles it cites and
the words of those articles. Each event is judged by the policy in force on its
start day; a day outside every policy is "unassessed", never judged silently.

A mistake in a file raises ``PolicyError`` naming the file, the line and the
problem, so the worker stops at start instead of judging with a broken policy.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Iterable, Mapping

from models.periods import PERIODIC_CYCLES, limit_cycle
from models.yamlnodes import ConfigFileError, Node, compose_file

CATALOG_UPDATE = "catalog-update"
DATA_VERIFICATION = "data-verification"
DATA_AGGREGATION = "data-aggregation"  # 第十二条: one per period of a resource's update cycle
DATA_OPENING = "data-opening"  # 第二十条: a resource that enters the open list is opened
OBLIGATION_KINDS = (CATALOG_UPDATE, DATA_VERIFICATION, DATA_AGGREGATION, DATA_OPENING)
RESOURCE_KINDS = (DATA_AGGREGATION, DATA_OPENING)  # obligations about one catalog resource

SHARE_SCOPE_NARROWED = "share-scope-narrowed"
SENSITIVE_DATA_OPENED = "sensitive-data-opened"
UNAUTHORISED_CHANNEL = "unauthorised-channel"
CLOSED_DATA_OPENED = "closed-data-opened"
OVERDUE = "overdue"
CONTENT_RULES = (SHARE_SCOPE_NARROWED, SENSITIVE_DATA_OPENED, UNAUTHORISED_CHANNEL, CLOSED_DATA_OPENED)
SHARE, OPEN = "share", "open"  # the two cases of unauthorised-channel (第十四条 / 第十八条)
RULE_CASES: dict[str, tuple[str, ...]] = {UNAUTHORISED_CHANNEL: (SHARE, OPEN)}  # rules cited per case


class PolicyError(ConfigFileError):
    """A policy file cannot be used; the message names the file, the line and the problem."""


@dataclass(frozen=True)
class ObligationKind:
    kind: str
    title: str  # what the department must do, in Chinese, e.g. 更新政务数据资源目录
    article: str  # the article that sets the duty, e.g. 第十条
    working_days: int
    overdue_citations: tuple[str, ...]  # articles an overdue obligation violates
    working_days_by_cycle: Mapping[str, int] = field(default_factory=dict)  # data-aggregation: per update cycle
    reminder_stages: tuple[int, ...] | None = None  # None: the policy's stages

    def limit(self, cycle: str | None = None) -> int:
        """Working days allowed: per cycle where the kind sets them (``realtime`` uses ``daily``), else one number."""
        if cycle is not None and self.working_days_by_cycle:
            return self.working_days_by_cycle[limit_cycle(cycle)]
        return self.working_days


@dataclass(frozen=True)
class ContentRule:
    rule: str
    title: str
    citations: tuple[str, ...]
    citations_by_case: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # e.g. share / open
    allowed_channels: tuple[str, ...] = ()  # unauthorised-channel: the channels the measures allow

    def cites(self, case: str | None = None) -> tuple[str, ...]:
        """The articles a finding of this rule cites (for ``case`` where the rule distinguishes cases)."""
        return self.citations_by_case.get(case or "", self.citations)


@dataclass(frozen=True)
class Policy:
    id: str
    version: str
    label: str
    regulation_title: str
    document_number: str
    jurisdiction: str
    valid_from: date
    valid_until: date | None  # last day in force; None: until replaced
    articles: dict[str, str]  # article -> its words
    reminder_stages: tuple[int, ...]  # working days left, descending; 0 = the due day
    reminder_time: str | None  # local HH:MM; None: the TRACKER_REMINDER_TIME setting
    obligations: dict[str, ObligationKind]
    rules: dict[str, ContentRule]
    continuation: bool = False
    path: str = ""
    # An activity event whose resource is not in the register is held; after this many working days from its
    # date it is listed as unmatched (None: at once).
    unmatched_after_working_days: int | None = None

    def in_force_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_until is None or day <= self.valid_until)

    def article_words(self, article: str) -> str:
        return self.articles.get(article, "")

    def cite(self, articles: Iterable[str]) -> str:
        """Articles with their words, as a supervisor reads them: 第二十五条（八）“……”."""
        return "、".join(f"{a}“{self.article_words(a).rstrip('；;。')}”" for a in articles)

    def regulation_ref(self) -> str:
        return f"《{self.regulation_title}》（{self.document_number}）"

    def validity_text(self) -> str:
        until = self.valid_until.isoformat() if self.valid_until else "另行通知"
        return f"{self.valid_from.isoformat()} 至 {until}"


@dataclass(frozen=True)
class PolicySet:
    policies: tuple[Policy, ...] = field(default_factory=tuple)

    def policy_for(self, day: date, jurisdiction: str) -> Policy | None:
        for policy in self.policies:
            if policy.jurisdiction == jurisdiction and policy.in_force_on(day):
                return policy
        return None

    def by_id(self, policy_id: str) -> Policy | None:
        return next((p for p in self.policies if p.id == policy_id), None)

    def validity_summary(self, jurisdiction: str) -> str:
        periods = [f"{p.id}（{p.validity_text()}）" for p in self.policies if p.jurisdiction == jurisdiction]
        return "、".join(periods) or "无"


def load_policies(policy_dir: str | Path) -> PolicySet:
    """Every ``*.yaml`` file in ``policy_dir``, checked one by one and then for overlaps."""
    directory = Path(policy_dir)
    files = sorted(list(directory.glob("*.yaml")) + list(directory.glob("*.yml")))
    if not files:
        raise PolicyError(directory, None, "no policy files (*.yaml) found")
    policies = [load_policy_file(path) for path in files]
    _check_overlaps(policies)
    _check_unique_ids(policies)
    return PolicySet(tuple(sorted(policies, key=lambda p: (p.jurisdiction, p.valid_from))))


def load_policy_file(path: str | Path) -> Policy:
    path = Path(path)
    try:
        return _read_policy(compose_file(path))
    except PolicyError:
        raise
    except ConfigFileError as exc:
        raise PolicyError(exc.path, exc.line, exc.problem) from None


def _read_policy(root: Node) -> Policy:
    top = root.mapping()
    regulation = root.child(top, "regulation")
    reg = regulation.mapping()
    validity = root.child(top, "validity")
    val = validity.mapping()
    valid_from = validity.child(val, "from").date()
    until_node = validity.child(val, "until", required=False)
    valid_until = until_node.date() if until_node.present else None
    if valid_until is not None and valid_until < valid_from:
        raise until_node.error(f"validity.until {valid_until} is before validity.from {valid_from}")

    articles_node = root.child(top, "articles")
    articles = {name: node.string() for name, node in articles_node.mapping().items()}

    reminders = root.child(top, "reminders")
    rem = reminders.mapping()
    stages_node = reminders.child(rem, "stages")
    stages = []
    for item in stages_node.sequence():
        stage = item.integer()
        if stage < 0:
            raise item.error(f"reminder stage {stage} is negative; stages are working days left (0 = the due day)")
        stages.append(stage)
    if len(set(stages)) != len(stages):
        raise stages_node.error("reminders.stages lists a stage twice")
    time_node = reminders.child(rem, "time", required=False)
    reminder_time = _reminder_time(time_node) if time_node.present else None

    obligations_node = root.child(top, "obligations")
    obligations = {}
    for kind, node in obligations_node.mapping().items():
        obligations[kind] = _read_obligation(kind, node, articles)
    rules_node = root.child(top, "rules", required=False)
    rules = {}
    if rules_node.present:
        for rule, node in rules_node.mapping().items():
            rules[rule] = _read_rule(rule, node, articles)

    continuation_node = root.child(top, "continuation", required=False)
    register_node = root.child(top, "register", required=False)
    unmatched_after = None
    if register_node.present:
        wait_node = register_node.child(register_node.mapping(), "unmatched_after_working_days")
        unmatched_after = wait_node.integer()
        if unmatched_after < 0:
            raise wait_node.error(f"register.unmatched_after_working_days {unmatched_after} is negative")
    return Policy(
        id=root.child(top, "id").string(),
        version=root.child(top, "version").string(),
        label=root.child(top, "label").string(),
        regulation_title=regulation.child(reg, "title").string(),
        document_number=regulation.child(reg, "document_number").string(),
        jurisdiction=root.child(top, "jurisdiction").string(),
        valid_from=valid_from,
        valid_until=valid_until,
        articles=articles,
        reminder_stages=tuple(sorted(stages, reverse=True)),
        reminder_time=reminder_time,
        obligations=obligations,
        rules=rules,
        continuation=continuation_node.boolean() if continuation_node.present else False,
        path=str(root.path),
        unmatched_after_working_days=unmatched_after,
    )


def _reminder_time(node: Node) -> str:
    text = node.string()
    try:
        hours, minutes = (int(part) for part in text.split(":"))
        if not (0 <= hours < 24 and 0 <= minutes < 60):
            raise ValueError
    except ValueError:
        raise node.error(f"reminders.time must be a local time like \"09:00\", got {text!r}") from None
    return f"{hours:02d}:{minutes:02d}"


def _citations(node: Node, owner: str, articles: dict[str, str]) -> tuple[str, ...]:
    if not node.present:
        raise node.error(f"{owner} has no citation: list the articles it cites")
    items = node.sequence()
    if not items:
        raise node.error(f"{owner} has no citation: list the articles it cites")
    result = []
    for item in items:
        article = item.string()
        if article not in articles:
            raise item.error(f"{owner} cites {article}, which is missing from articles (add its words there)")
        result.append(article)
    return tuple(result)


def _read_obligation(kind: str, node: Node, articles: dict[str, str]) -> ObligationKind:
    if kind not in OBLIGATION_KINDS:
        raise node.error(f"unknown obligation kind {kind!r}; known kinds: {', '.join(OBLIGATION_KINDS)}")
    fields = node.mapping()
    article_node = node.child(fields, "article", required=False)
    if not article_node.present:
        raise node.error(f"obligation {kind} has no citation: article is missing")
    article = article_node.string()
    if article not in articles:
        raise article_node.error(f"obligation {kind} cites {article}, which is missing from articles")
    by_cycle: dict[str, int] = {}
    if kind == DATA_AGGREGATION:  # one limit per update cycle, counted from the end of each period
        cycles_node = node.child(fields, "working_days_by_cycle")
        for cycle, cycle_node in cycles_node.mapping().items():
            if cycle not in PERIODIC_CYCLES:
                raise cycle_node.error(f"obligation {kind}: unknown update cycle {cycle!r}; the cycles with a "
                                       f"limit are {', '.join(PERIODIC_CYCLES)} (realtime uses daily's)")
            by_cycle[cycle] = _working_days(cycle_node, f"obligation {kind}: working_days_by_cycle.{cycle}")
        missing = [cycle for cycle in PERIODIC_CYCLES if cycle not in by_cycle]
        if missing:
            raise cycles_node.error(f"obligation {kind}: working_days_by_cycle has no limit for {', '.join(missing)}")
        days = 0
    else:
        days = _working_days(node.child(fields, "working_days"), f"obligation {kind}: working_days")
    stages_node = node.child(fields, "reminder_stages", required=False)
    return ObligationKind(
        kind=kind,
        title=node.child(fields, "title").string(),
        article=article,
        working_days=days,
        overdue_citations=_citations(node.child(fields, "overdue_citations", required=False),
                                     f"obligation {kind}", articles),
        working_days_by_cycle=by_cycle,
        reminder_stages=_stages(stages_node) if stages_node.present else None,
    )


def _working_days(node: Node, what: str) -> int:
    days = node.integer()
    if days < 0:
        raise node.error(f"{what} {days} is negative")
    if days == 0:
        raise node.error(f"{what} must be at least 1")
    return days


def _stages(node: Node) -> tuple[int, ...]:
    stages = []
    for item in node.sequence():
        stage = item.integer()
        if stage < 0:
            raise item.error(f"reminder stage {stage} is negative; stages are working days left (0 = the due day)")
        stages.append(stage)
    if len(set(stages)) != len(stages):
        raise node.error(f"{node.name} lists a stage twice")
    return tuple(sorted(stages, reverse=True))


def _read_rule(rule: str, node: Node, articles: dict[str, str]) -> ContentRule:
    if rule not in CONTENT_RULES:
        raise node.error(f"unknown rule {rule!r}; known rules: {', '.join(CONTENT_RULES)}")
    fields = node.mapping()
    citations_node = node.child(fields, "citations", required=False)
    cases = RULE_CASES.get(rule, ())
    by_case: dict[str, tuple[str, ...]] = {}
    if cases:  # cited per case: citations is a mapping case -> articles
        if not citations_node.present:
            raise node.error(f"rule {rule} has no citation: list the articles it cites for {', '.join(cases)}")
        given = citations_node.mapping()
        for case in given:
            if case not in cases:
                raise given[case].error(f"rule {rule}: unknown case {case!r}; its cases are {', '.join(cases)}")
        for case in cases:
            by_case[case] = _citations(citations_node.child(given, case, required=False), f"rule {rule} ({case})",
                                       articles)
        citations = by_case[cases[0]]
    else:
        citations = _citations(citations_node, f"rule {rule}", articles)
    channels: tuple[str, ...] = ()
    channels_node = node.child(fields, "allowed_channels", required=rule == UNAUTHORISED_CHANNEL)
    if channels_node.present:
        channels = tuple(item.string() for item in channels_node.sequence())
        if not channels:
            raise channels_node.error(f"rule {rule}: allowed_channels lists no channel")
    return ContentRule(rule=rule, title=node.child(fields, "title").string(), citations=citations,
                       citations_by_case=by_case, allowed_channels=channels)


def _check_overlaps(policies: list[Policy]) -> None:
    ordered = sorted(policies, key=lambda p: (p.jurisdiction, p.valid_from))
    for earlier, later in zip(ordered, ordered[1:]):
        if earlier.jurisdiction != later.jurisdiction:
            continue
        if earlier.valid_until is None or later.valid_from <= earlier.valid_until:
            line = _validity_line(later)
            raise PolicyError(later.path, line,
                              f"validity {later.validity_text()} overlaps {earlier.path} ({earlier.id}, "
                              f"{earlier.validity_text()}) for jurisdiction {later.jurisdiction}")


def _check_unique_ids(policies: list[Policy]) -> None:
    seen: dict[str, Policy] = {}
    for policy in policies:
        if policy.id in seen:
            raise PolicyError(policy.path, None, f"policy id {policy.id} is also used by {seen[policy.id].path}")
        seen[policy.id] = policy


def _validity_line(policy: Policy) -> int | None:
    for number, line in enumerate(Path(policy.path).read_text(encoding="utf-8").splitlines(), start=1):
        if line.lstrip().startswith("validity:"):
            return number
    return None
