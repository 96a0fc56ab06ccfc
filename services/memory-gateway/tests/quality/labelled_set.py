"""A labelled recall-quality set: a solo operator's memories, the questions a planner or agent asks of them,
and a deterministic generator of plausible but irrelevant memories to bury them in.

Three users, each a one-person business: Maya (writer and consultant, the "Field Notes" newsletter), Theo
(indie developer of the "Ledgerly" SaaS) and Ines (freelance UX researcher and illustrator). Their topics
overlap on purpose (everyone has a newsletter, deep work, backups, a day rate, taxes), so a query that
leaks across users would find a plausible answer in another user's memories.

The default embedder is the offline hashing embedder and the lexical retriever is Postgres full-text
search: both are lexical, so every query shares at least one word or word stem with the memories it must
find ("schedule" / "scheduled", "drafts" / "drafted"), phrased as a planner asks, never the memory's text.
A query that only a synonym could answer would measure the embedder, not retrieval; swap in a model-based
embedder to measure that.

The distractors reuse the targets' vocabulary (other newsletters, other Fridays, other backups, other
clients), so they compete for the same words, and are unique sentences (no two merge on remember).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from string import Formatter

from pma_core.contracts.memory import MemoryItem, MemoryKind

MAYA, THEO, INES = "maya", "theo", "ines"
USERS = (MAYA, THEO, INES)
# Distractors come from this seed (and the user), so every run stores the same memories.
SEED = 20_240_601
TOP_K = 5


@dataclass(frozen=True)
class Target:
    """A memory some query must find; `label` names it in the queries' expectations."""

    label: str
    user: str
    kind: MemoryKind
    text: str
    importance: float = 0.5

    def item(self) -> MemoryItem:
        return MemoryItem(text=self.text, kind=self.kind, importance=self.importance, source="quality-set")


@dataclass(frozen=True)
class LabelledQuery:
    """A question of one user: every `expected` label must be in the top 5; no `foreign` one may appear.

    `foreign` names other users' memories that share the query's words: they would answer it if recall
    leaked across users.
    """

    user: str
    text: str
    expected: tuple[str, ...]
    kinds: tuple[MemoryKind, ...] | None = None
    foreign: tuple[str, ...] = ()


def _t(label: str, kind: MemoryKind, text: str, importance: float = 0.5) -> Target:
    return Target(label=label, user=label.split(".", 1)[0], kind=kind, text=text, importance=importance)


TARGETS: tuple[Target, ...] = (
    # Maya: writer and consultant, sends the "Field Notes" newsletter.
    _t("maya.deep_work", "preference", "Deep work happens in the mornings, 8:00 to 11:00; no calls before 11.", 0.9),
    _t("maya.newsletter_tool", "fact", "Field Notes newsletter drafts live in Coda, in the Drafts table.", 0.7),
    _t("maya.newsletter_day", "decision", "Decided to send Field Notes every other Tuesday at 7am, not weekly.", 0.8),
    _t("maya.accountant", "fact", "Accountant is Priya Raman at Raman & Co; she files the quarterly VAT returns."),
    _t("maya.no_friday_calls", "preference", "No client meetings on Fridays: Fridays are for writing and admin.", 0.8),
    _t("maya.invoicing", "fact", "Invoices go out from FreeAgent with 14-day payment terms."),
    _t("maya.day_rate", "decision", "Raised the consulting day rate to 950 EUR from January.", 0.7),
    _t("maya.northwind", "fact", "Jonas Weber is the product lead at Northwind and prefers email to Slack."),
    _t(
        "maya.podcast",
        "observation",
        "Podcast interviews recorded after 4pm sound flat; energy is better before lunch.",
    ),
    _t("maya.coffee", "preference", "Coffee order: oat flat white, no sugar.", 0.3),
    _t("maya.travel", "preference", "Takes the train rather than flying for any trip under six hours; window seat."),
    _t("maya.backups", "fact", "Laptop backups run nightly to Backblaze B2; test a restore every quarter."),
    _t("maya.book_goal", "goal", "Finish the first draft of the book manuscript by 30 June.", 0.9),
    _t("maya.editor", "fact", "Clara Mendes at Harbour Press edits the book and wants chapters as Google Docs."),
    _t("maya.weekly_review", "instruction", "Weekly review on Sunday evening: clear the inbox, pick three priorities."),
    _t("maya.client_email", "decision", "Stopped using Slack with clients; all client communication is by email now."),
    _t("maya.secrets", "fact", "Passwords and API keys are kept in 1Password, in the Work vault.", 0.6),
    _t("maya.lunch", "observation", "A heavy lunch means a slow, unproductive afternoon."),
    _t("maya.tax", "fact", "The self-assessment tax return is due on 31 January; gather receipts in December."),
    _t("maya.workshop", "summary", "Last quarter's writing workshop for Northwind sold 14 seats at 300 EUR each."),
    # Theo: indie developer of Ledgerly, a billing SaaS.
    _t("theo.deploys", "instruction", "Deploy to production Monday to Thursday before 3pm, never on a Friday.", 0.9),
    _t("theo.hosting", "fact", "Ledgerly is hosted on a Hetzner VPS: Django and Postgres behind Caddy."),
    _t("theo.changelog", "fact", "Changelog newsletter drafts are written in Notion, then pasted into Buttondown."),
    _t("theo.focus", "preference", "Best focus for coding is late evening, 21:00 to midnight; mornings go to support."),
    _t(
        "theo.support_sla",
        "decision",
        "Every support ticket gets a first answer within 24 hours, from Help Scout.",
        0.8,
    ),
    _t(
        "theo.pricing",
        "decision",
        "Ledgerly pricing is now 12 USD per seat per month; annual plans get two months free.",
    ),
    _t("theo.designer", "fact", "Sofia Lindqvist does design and marketing for Ledgerly two days a week."),
    _t("theo.errors", "fact", "Errors are reported to Sentry, and alerts post to the #alerts Slack channel."),
    _t("theo.db_backups", "fact", "Postgres backups: nightly pg_dump to S3, kept for 30 days, restore tested monthly."),
    _t("theo.release_check", "instruction", "Run the full test suite with make test before tagging any release.", 0.8),
    _t("theo.release_day", "decision", "Releases ship on Tuesdays, and the changelog is published the same day."),
    _t("theo.migrations", "observation", "Migrations on the invoices table lock it for minutes; run them at night."),
    _t("theo.brightwater", "fact", "Biggest customer is Brightwater Logistics: 40 seats, renewal due in September."),
    _t("theo.runway", "fact", "Runway is 14 months at the current burn of 6k per month.", 0.7),
    _t("theo.pull_requests", "preference", "Keeps pull requests small, under 300 lines, with type-annotated Python."),
    _t("theo.caffeine", "observation", "Coffee after 2pm ruins sleep; switch to tea in the afternoon."),
    _t("theo.conference", "goal", "Give a conference talk at DjangoCon Europe this year on multi-tenant billing."),
    _t("theo.bookkeeping", "fact", "Bookkeeping is in Xero; Marta, the bookkeeper, closes each month by the 10th."),
    _t("theo.domain", "fact", "The ledgerly.app domain is registered at Namecheap and renews every March."),
    _t("theo.weekends", "preference", "Weekends are offline: no support shifts on Saturday or Sunday."),
    # Ines: freelance UX researcher and illustrator.
    _t(
        "ines.interviews",
        "preference",
        "User interviews are scheduled Tuesday and Wednesday mornings, 45 minutes each.",
    ),
    _t("ines.recordings", "fact", "Interview recordings are stored in Dovetail, tagged by client."),
    _t("ines.portfolio", "goal", "Refresh the portfolio site with three new case studies before September.", 0.8),
    _t("ines.procreate", "fact", "Illustrations are drawn in Procreate on the iPad and exported as layered PSD files."),
    _t("ines.newsletter", "fact", "The monthly studio newsletter is drafted in Google Docs and sent via Mailchimp."),
    _t(
        "ines.afternoons",
        "preference",
        "Drawing needs long unbroken afternoons: keep afternoons free of meetings.",
        0.8,
    ),
    _t(
        "ines.kite",
        "fact",
        "Kite Health project contact is Omar Haddad from research ops; the report is due end of May.",
    ),
    _t("ines.day_rate", "decision", "Research day rate is set at 700 EUR; illustration is priced per piece.", 0.7),
    _t("ines.contract", "instruction", "Send the contract and a 30% deposit invoice before starting any project.", 0.9),
    _t(
        "ines.no_shows", "observation", "About one in five recruited participants no-show; recruit one extra per round."
    ),
    _t(
        "ines.coworking",
        "fact",
        "Has a desk at Kanal Coworking from Tuesday to Thursday; the key fob is in the blue pouch.",
    ),
    _t("ines.eye_strain", "observation", "Eye strain after two hours on the iPad; take a screen break every hour."),
    _t("ines.synthesis", "instruction", "Affinity mapping happens in FigJam within 48 hours of the last interview."),
    _t("ines.languages", "fact", "Works in English and Portuguese; reads German but does not interview in it."),
    _t("ines.fonts", "preference", "Font choice: Inter for UI mockups, Source Serif for written reports."),
    _t(
        "ines.tax", "fact", "Quarterly tax prepayments to the Finanzamt are due on 10 March, June, September, December."
    ),
    _t("ines.riso", "fact", "Risograph prints are made at Druckwerk in Neukoelln with a two-week lead time."),
    _t(
        "ines.august", "decision", "The studio is closed for all of August; the out-of-office reply starts on 1 August."
    ),
    _t("ines.loom", "observation", "Clients take findings better as a Loom walkthrough than as a long written report."),
    _t("ines.ssd_backup", "fact", "Project files sync to Nextcloud, and the external SSD backup runs every Friday."),
)


def _q(
    text: str, *expected: str, kinds: tuple[MemoryKind, ...] | None = None, foreign: tuple[str, ...] = ()
) -> LabelledQuery:
    return LabelledQuery(user=expected[0].split(".", 1)[0], text=text, expected=expected, kinds=kinds, foreign=foreign)


QUERIES: tuple[LabelledQuery, ...] = (
    # Maya
    _q("when should I schedule deep work?", "maya.deep_work", foreign=("theo.focus", "ines.afternoons")),
    _q(
        "which tool holds the newsletter drafts?", "maya.newsletter_tool", foreign=("theo.changelog", "ines.newsletter")
    ),
    _q("what did we decide about sending Field Notes?", "maya.newsletter_day", kinds=("decision",)),
    _q("who files my VAT returns?", "maya.accountant"),
    _q("can I book a client meeting on Friday?", "maya.no_friday_calls"),
    _q("what payment terms do my invoices use?", "maya.invoicing", foreign=("ines.contract",)),
    _q("what is my consulting day rate?", "maya.day_rate", kinds=("decision",), foreign=("ines.day_rate",)),
    _q("how should I reach Jonas at Northwind?", "maya.northwind"),
    _q("best time of day to record a podcast interview?", "maya.podcast", kinds=("observation",)),
    _q("where are my laptop backups and when is a restore test due?", "maya.backups", foreign=("theo.db_backups",)),
    _q("what's the deadline for the book manuscript, and who edits it?", "maya.book_goal", "maya.editor"),
    _q("where do I keep API keys and passwords?", "maya.secrets"),
    _q("when is my tax return due?", "maya.tax", foreign=("ines.tax",)),
    _q("what's my coffee order?", "maya.coffee", foreign=("theo.caffeine",)),
    # Theo
    _q("can I deploy to production on Friday afternoon?", "theo.deploys", kinds=("instruction",)),
    _q("where is Ledgerly hosted?", "theo.hosting"),
    _q("where are the changelog newsletter drafts written?", "theo.changelog", foreign=("maya.newsletter_tool",)),
    _q("when should I block focus time for coding?", "theo.focus", foreign=("maya.deep_work",)),
    _q("how quickly must a support ticket be answered?", "theo.support_sla"),
    _q("how much does a Ledgerly seat cost per month?", "theo.pricing"),
    _q("who does the design work for Ledgerly?", "theo.designer"),
    _q("where do error alerts get posted?", "theo.errors"),
    _q("how long are the Postgres backups kept?", "theo.db_backups", foreign=("maya.backups",)),
    _q(
        "what must I run before tagging a release, and which day do releases ship?",
        "theo.release_check",
        "theo.release_day",
    ),
    _q("when can I run a migration on the invoices table?", "theo.migrations"),
    _q("when is the Brightwater renewal due?", "theo.brightwater", kinds=("fact",)),
    _q("how many months of runway are left?", "theo.runway"),
    _q("should I have a coffee this afternoon?", "theo.caffeine", foreign=("maya.coffee",)),
    # Ines
    _q("when should I schedule the user interviews?", "ines.interviews", kinds=("preference",)),
    _q("where are the interview recordings stored?", "ines.recordings"),
    _q("which app do I draw the illustrations in?", "ines.procreate"),
    _q("how does the studio newsletter get sent?", "ines.newsletter", foreign=("maya.newsletter_tool",)),
    _q("who is my contact on the Kite Health project?", "ines.kite"),
    _q("what day rate do I charge for research?", "ines.day_rate", foreign=("maya.day_rate",)),
    _q("what has to go out before starting a project?", "ines.contract", kinds=("instruction",)),
    _q("how many extra participants should I recruit?", "ines.no_shows"),
    _q("which days do I have the coworking desk?", "ines.coworking"),
    _q("how often do I need a break from the iPad screen?", "ines.eye_strain", kinds=("observation",)),
    _q("which font should the written report use?", "ines.fonts"),
    _q("when are the quarterly tax prepayments due?", "ines.tax", foreign=("maya.tax", "maya.accountant")),
    _q("is the studio open in August?", "ines.august"),
    _q("when does the SSD backup run?", "ines.ssd_backup", foreign=("maya.backups", "theo.db_backups")),
)

# --- distractors -----------------------------------------------------------------------------------------

_PROJECTS = (
    "Atlas", "Harbor", "Juniper", "Orbit", "Quill", "Tandem", "Meridian", "Beacon", "Lumen", "Cedar",
    "Pioneer", "Mosaic", "Field Guide", "Kestrel", "Northstar", "Sable",
)  # fmt: skip
_PEOPLE = (
    "Ana", "Ben", "Chloe", "Dev", "Elif", "Farid", "Greta", "Hugo", "Ivy", "Kenji", "Lena", "Milo", "Nora",
    "Pablo", "Rosa", "Sami", "Tomas", "Yara",
)  # fmt: skip
_TOOLS = (
    "Notion", "Trello", "Airtable", "Dropbox", "Figma", "Linear", "Asana", "Miro", "Google Drive", "Basecamp",
    "Obsidian", "Todoist", "Coda", "Slack",
)  # fmt: skip
_ARTIFACTS = (
    "newsletter draft", "budget sheet", "proposal", "slide deck", "style guide", "roadmap", "invoice",
    "contract", "brief", "report", "changelog", "backlog", "interview notes", "case study", "manuscript",
)  # fmt: skip
_MEETINGS = ("standup", "review", "kickoff", "retro", "check-in", "demo", "workshop", "planning call", "interview")
_ACTIVITIES = (
    "deep work", "admin", "writing", "research", "support", "design", "editing", "outreach", "bookkeeping",
    "coding", "drawing", "recording",
)  # fmt: skip
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Friday", "Saturday", "Sunday")
_TIMES = ("8am", "9:30", "10am", "11:15", "noon", "1pm", "2:30pm", "3pm", "4pm", "5:45pm", "7pm", "9pm")
_MONTHS = ("January", "March", "April", "May", "June", "July", "September", "October", "November")
_CHANNELS = ("email", "Slack", "a phone call", "WhatsApp", "a Loom video", "a shared doc")
_PLACES = ("the coworking space", "the library", "home", "the cafe on Kanal street", "the train", "the studio")
_TOPICS = (
    "pricing", "onboarding", "backups", "focus", "hiring", "travel", "taxes", "podcasts", "accessibility",
    "burnout", "client retention", "release notes",
)  # fmt: skip

_TEMPLATES: tuple[tuple[MemoryKind, str], ...] = (
    ("fact", "{person} sent the {project} {artifact} for review on {day}."),
    ("fact", "The {project} {artifact} lives in {tool}; {person} has edit access."),
    ("fact", "{person} is the main contact for the {project} {artifact} and answers fastest on {channel}."),
    ("decision", "Moved the {project} {meeting} with {person} to {day} at {time}."),
    ("decision", "Decided to pause the {project} {artifact} until {month}; {person} agreed."),
    ("decision", "Switched the {project} {artifact} from {tool} to {tool2}."),
    ("observation", "The {project} {meeting} on {day} ran {n} minutes over."),
    ("observation", "{activity} with {person} at {place} on {day} went better than expected."),
    ("observation", "{person} seemed unsure about the {project} {artifact} during the {meeting}."),
    ("preference", "{person} prefers {channel} for anything about the {project} {artifact}."),
    ("preference", "Likes to do {activity} for {project} at {place} around {time}."),
    ("goal", "Ship the {project} {artifact} with {person} before the end of {month}."),
    ("instruction", "Remind {person} about the {project} {artifact} every {day} at {time}."),
    ("summary", "{project} week {n}: {activity} and a {meeting} with {person}; next up is the {artifact}."),
    ("fact", "Idea for the {project} newsletter: a short piece on {topic}, maybe with {person}."),
    ("fact", "{project} backups of the {artifact} sync to {tool} every {day}."),
)


def _fields(template: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(name for _, name, _, _ in Formatter().parse(template) if name))


def _values(rng: random.Random) -> dict[str, object]:
    tool, tool2 = rng.sample(_TOOLS, 2)
    return {
        "person": rng.choice(_PEOPLE),
        "project": rng.choice(_PROJECTS),
        "tool": tool,
        "tool2": tool2,
        "artifact": rng.choice(_ARTIFACTS),
        "meeting": rng.choice(_MEETINGS),
        "activity": rng.choice(_ACTIVITIES),
        "day": rng.choice(_DAYS),
        "time": rng.choice(_TIMES),
        "month": rng.choice(_MONTHS),
        "channel": rng.choice(_CHANNELS),
        "place": rng.choice(_PLACES),
        "topic": rng.choice(_TOPICS),
        "n": rng.randint(2, 48),
    }


def _near_keys(template: str, values: dict[str, object]) -> set[tuple[object, ...]]:
    """One key per slot: the sentence with that slot blanked. Two sentences sharing a key differ in one slot."""
    slots = [values[name] for name in _fields(template)]
    return {(template, i, *slots[:i], *slots[i + 1 :]) for i in range(len(slots))}


def distractors(user: str, count: int, *, seed: int = SEED) -> list[MemoryItem]:
    """`count` distinct, plausible, irrelevant memories for `user`: the same list on every run.

    Each call for the same user starts from the same state, so the first N of a longer list are the
    N of a shorter one (the large run extends the small one instead of replacing it). Any two
    sentences from one template differ in at least two slots: two that differ in one ("at 3pm" /
    "at 4pm") reach a cosine of 0.949 with the hashing embedder, a hair under the gateway's
    near-duplicate similarity (0.95), so remember could merge them; two slots stay under 0.91.
    """
    rng = random.Random(f"{seed}:{user}")
    taken: set[tuple[object, ...]] = set()
    items: list[MemoryItem] = []
    for _ in range(count * 50):  # bounded: the vocabulary allows far more sentences than any run asks
        if len(items) == count:
            break
        kind, template = rng.choice(_TEMPLATES)
        values = _values(rng)
        importance = round(rng.uniform(0.2, 0.8), 2)
        keys = _near_keys(template, values)
        if keys & taken:
            continue
        taken |= keys
        text = template.format(**values)
        text = text[0].upper() + text[1:]
        items.append(MemoryItem(text=text, kind=kind, importance=importance, source="distractor"))
    if len(items) < count:
        raise ValueError(f"could not generate {count} distinct distractors for {user!r}")
    return items


def targets_of(user: str) -> list[Target]:
    return [t for t in TARGETS if t.user == user]
