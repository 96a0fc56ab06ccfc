"""A second labelled recall-quality set, written without looking at what recall returns for it.

The tuned set (labelled_set.py) is a regression floor: the ranking was changed until it passed, and each of
its queries shares a word stem with its target, so it measures word overlap. This set was written the other
way round, as a person would ask, before it was ever recalled, and it is not to be edited to pass: when
recall misses one of these queries, that is the finding. Four kinds of question, twelve each:

- `paraphrase`: the query shares no word stem with its target (no query word of 4+ letters shares its first
  four letters with a target word); its near-misses share the query's words but do not answer it;
- `number_date`: the answer hangs on a number or a date ("the invoice over 2,000 euros", "what did I
  decide on 14 March"); the near-misses are the same kind of record with other numbers or dates;
- `negation`: the query asks for what is not wanted, not done or did not happen; the target says so and a
  near-miss states the positive ("use Metabase" against "never use Tableau");
- `month_name`: the target and its near-misses say the same thing but for another month or name, and
  only the query's month or name tells them apart.

Four users, each a one-person business: Nadia (freelance data analyst; clients Fernhill, a bakery chain,
and Copperleaf, an insurer), Oskar (furniture maker selling online), Lucia (freelance translator working
for agencies) and Ravi (solo founder of a small SaaS, Tallybook). All four have invoices, agent runs,
months and clients, so a query that leaked across users would find plausible answers (`foreign`).

Every memory has the default importance and all are stored at once: neither importance nor recency tells
a target from its near-misses, only what the texts say.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal
from uuid import UUID

from pma_core.clients import MemoryGatewayClient
from pma_core.contracts.memory import MAX_LIMIT, MemoryItem, MemoryKind

Category = Literal["paraphrase", "number_date", "negation", "month_name"]
CATEGORIES: tuple[Category, ...] = ("paraphrase", "number_date", "negation", "month_name")

NADIA, OSKAR, LUCIA, RAVI = "nadia", "oskar", "lucia", "ravi"
USERS = (NADIA, OSKAR, LUCIA, RAVI)

# Letters only: digits and punctuation split words ("didn't" -> "didn", "t"; "Fly.io" -> "Fly", "io").
_LETTERS = re.compile(r"[^\W\d_]+")
PREFIX = 4
# What makes a sentence negative, for the negation queries' consistency check.
_NEGATION = re.compile(r"\b(?:not|never|no|nothing)\b|n't\b", re.IGNORECASE)


def stem_prefixes(text: str) -> set[str]:
    """The first four letters of each word of 4+ letters, lower-cased: a stemmer-free notion of a shared stem."""
    return {word[:PREFIX] for word in _LETTERS.findall(text.lower()) if len(word) >= PREFIX}


def words(text: str) -> set[str]:
    return set(_LETTERS.findall(text.lower()))


def is_negative(text: str) -> bool:
    return _NEGATION.search(text) is not None


@dataclass(frozen=True)
class Memory:
    """A stored memory: a target of some query, one's near-miss, or both."""

    label: str
    user: str
    kind: MemoryKind
    text: str

    def item(self) -> MemoryItem:
        return MemoryItem(text=self.text, kind=self.kind, source="independent-set")


@dataclass(frozen=True)
class IndependentQuery:
    """A question of one user. `expected` must be in the top 5; `near_misses` are this user's memories that
    share the question's words (or differ from the target only by its month or name) but do not answer it;
    `foreign` are other users' memories that would answer it if recall leaked."""

    category: Category
    user: str
    text: str
    expected: tuple[str, ...]
    near_misses: tuple[str, ...]
    foreign: tuple[str, ...] = ()
    # The month or name (one word or more) that tells a `month_name` query's target from its near-misses.
    pivot: str | None = None


def _m(label: str, kind: MemoryKind, text: str) -> Memory:
    return Memory(label=label, user=label.split(".", 1)[0], kind=kind, text=text)


MEMORIES: tuple[Memory, ...] = (
    # --- Nadia: freelance data analyst -------------------------------------------------------------------
    _m(
        "nadia.bookkeeper",
        "fact",
        "Henrik Dahl handles my bookkeeping and VAT filings; we speak every second Thursday.",
    ),
    _m(
        "nadia.receivables",
        "fact",
        "Accounts receivable for Copperleaf are 40 days overdue; chase them after the holidays.",
    ),
    _m("nadia.flat_sale", "fact", "Taxes on the sale of the Leipzig flat are being handled by the notary."),
    _m("nadia.no_early_calls", "preference", "No calls before 10; mornings are for heads-down analysis."),
    _m("nadia.fernhill_video", "fact", "Video chat with the Fernhill team is booked for 8:30 next Monday."),
    _m(
        "nadia.report_agent_failed",
        "observation",
        "The weekly-report agent run on Monday failed: the Google Sheets token had expired, so no client got one.",
    ),
    _m("nadia.status_summary", "fact", "The status summary for Copperleaf is written by hand in Notion each Friday."),
    _m("nadia.db_backup", "observation", "The automated backup of the analytics database reached 200 GB."),
    _m("nadia.invoice_031", "fact", "Invoice 2024-031 to Fernhill: 2,450 EUR, paid on 3 April."),
    _m("nadia.invoice_029", "fact", "Invoice 2024-029 to Copperleaf: 1,200 EUR, paid on 28 March."),
    _m("nadia.invoice_033", "fact", "Invoice 2024-033 to Fernhill: 850 EUR, still open."),
    _m(
        "nadia.decided_14_march",
        "decision",
        "14 March: decided to stop taking new Copperleaf work once the current contract ends.",
    ),
    _m("nadia.decided_4_march", "decision", "4 March: decided to raise my day rate to 800 EUR."),
    _m("nadia.decided_14_may", "decision", "14 May: decided to move all client dashboards to Metabase."),
    _m(
        "nadia.fernhill_closed",
        "observation",
        "Fernhill dashboard project closed: 62 hours logged against 50 estimated.",
    ),
    _m("nadia.churn_closed", "observation", "Copperleaf churn model closed: 38 hours logged against 40 estimated."),
    _m(
        "nadia.forecast_closed",
        "observation",
        "Fernhill forecast project closed: 21 hours logged against 20 estimated.",
    ),
    _m(
        "nadia.no_tableau",
        "preference",
        "Never use Tableau for client work again: the licences cost too much and it is slow.",
    ),
    _m("nadia.use_metabase", "preference", "Use Metabase for client dashboards: it is free and fast enough."),
    _m(
        "nadia.no_reference_marek",
        "instruction",
        "Don't ask Marek at Copperleaf for a reference; the project ended badly.",
    ),
    _m("nadia.reference_julia", "instruction", "Ask Julia at Fernhill for a reference; she offered one in May."),
    _m(
        "nadia.chaser_run_7",
        "observation",
        "Run 7 of the invoice-chasing agent did not complete: rate-limited by the email API.",
    ),
    _m("nadia.chaser_run_8", "observation", "Run 8 of the invoice-chasing agent completed: 4 reminders sent."),
    _m(
        "nadia.review_april", "decision", "April review with Fernhill: agreed to add a sales forecast to the dashboard."
    ),
    _m(
        "nadia.review_january",
        "decision",
        "January review with Fernhill: agreed to add a stock forecast to the dashboard.",
    ),
    _m(
        "nadia.review_july",
        "decision",
        "July review with Fernhill: agreed to add a staffing forecast to the dashboard.",
    ),
    _m("nadia.dictionary_julia", "fact", "Julia from Fernhill wants the data dictionary in Notion."),
    _m("nadia.dictionary_tomasz", "fact", "Tomasz from Fernhill wants the data dictionary in Google Docs."),
    _m("nadia.dictionary_marek", "fact", "Marek from Copperleaf wants the data dictionary in Confluence."),
    _m("nadia.renews_copperleaf", "fact", "The Copperleaf contract renews in November."),
    _m("nadia.renews_fernhill", "fact", "The Fernhill contract renews in March."),
    # --- Oskar: furniture maker, sells online -------------------------------------------------------------
    _m("oskar.timber", "fact", "Timber comes from Holm Sawmill in Vaxjo; order oak at least three weeks ahead."),
    _m("oskar.glue", "fact", "Buy wood glue and sandpaper in bulk from the hardware place on Kungsgatan."),
    _m("oskar.evenings", "preference", "Keep evenings free for my daughter; nothing gets booked after 18:00."),
    _m("oskar.buyer_visit", "fact", "A buyer from Malmo wants to come and see the walnut table on Saturday."),
    _m(
        "oskar.sync_crash",
        "observation",
        "The listing-sync agent crashed overnight on Shopify rate limits; 14 products kept old prices.",
    ),
    _m("oskar.store_sort", "fact", "Items in the web store are sorted by cost, cheapest first, since Tuesday."),
    _m(
        "oskar.order_1187", "fact", "Order 1187: oak dining table for the Berg family, 18,500 SEK, delivery in week 22."
    ),
    _m("oskar.order_1191", "fact", "Order 1191: walnut side table for Lina Ek, 4,200 SEK, delivery in week 24."),
    _m("oskar.order_1176", "fact", "Order 1176: pine bench for a cafe in Lund, 6,900 SEK, delivered."),
    _m(
        "oskar.gallery_3_october",
        "decision",
        "3 October: agreed with Galleri Form to show four chairs in their winter exhibition.",
    ),
    _m("oskar.cafe_13_october", "decision", "13 October: agreed with the Lund cafe to rebuild their counter."),
    _m(
        "oskar.gallery_3_november", "decision", "3 November: agreed with Galleri Form to lower their commission to 30%."
    ),
    _m("oskar.oak_delivery", "fact", "Oak delivery from Holm Sawmill on 12 June: 2.4 cubic metres."),
    _m("oskar.ash_delivery", "fact", "Ash delivery from Holm Sawmill on 28 May: 0.8 cubic metres."),
    _m("oskar.birch_delivery", "fact", "Birch delivery from Holm Sawmill on 3 July: 1.1 cubic metres."),
    _m(
        "oskar.no_polyurethane",
        "preference",
        "Never use polyurethane varnish on the tables; customers hate the plastic look.",
    ),
    _m("oskar.hardwax", "preference", "Use hardwax oil on every table; it is easy to repair."),
    _m("oskar.no_nyberg", "decision", "Do not take commissions from Anders Nyberg again: he paid four months late."),
    _m("oskar.more_lind", "decision", "Take more commissions from Sara Lind; she pays upfront and refers friends."),
    _m(
        "oskar.backup_friday",
        "observation",
        "The photo-backup agent did not run on Friday night: the NAS was switched off.",
    ),
    _m("oskar.backup_saturday", "observation", "The photo-backup agent ran fine on Saturday night: 312 photos copied."),
    _m("oskar.lina_ek", "fact", "Lina Ek wants her side table in smoked oak."),
    _m("oskar.lina_berg", "fact", "Lina Berg wants her side table in white-oiled ash."),
    _m("oskar.market_december", "observation", "Craft market in Lund, December: sold 18 cutting boards."),
    _m("oskar.market_september", "observation", "Craft market in Lund, September: sold 5 cutting boards."),
    _m("oskar.shipping_germany", "fact", "Shipping to Germany goes with DB Schenker: about 1,400 SEK per crate."),
    _m("oskar.shipping_norway", "fact", "Shipping to Norway goes with PostNord: about 900 SEK per crate."),
    # --- Lucia: freelance translator ----------------------------------------------------------------------
    _m("lucia.legal_rate", "decision", "Rate for legal documents: 0.14 EUR per word, minimum fee 60 EUR."),
    _m("lucia.court_courier", "instruction", "Court papers for the Moreno case must go by courier."),
    _m("lucia.rush", "decision", "Charge agencies a rush surcharge of 25% for same-day jobs."),
    _m("lucia.proofreader", "fact", "My proofreader is Giulia Conti; she checks every Italian job before delivery."),
    _m("lucia.vertex_portal", "fact", "Translations for Vertex Agency are handed in through their portal."),
    _m(
        "lucia.glossary_agent",
        "observation",
        "The glossary-builder agent run on the Moreno files produced 230 terms, but a third were wrong and I "
        "threw them out.",
    ),
    _m("lucia.anki", "fact", "Word lists for my Portuguese course are made in Anki."),
    _m("lucia.job_solar", "fact", "Vertex Agency job 'Solar farm permit': 12,400 words, due 9 May."),
    _m("lucia.job_hotel", "fact", "Vertex Agency job 'Hotel website': 3,100 words, due 2 May."),
    _m("lucia.job_pharma", "fact", "Lingua Plus job 'Pharma leaflet': 7,800 words, due 15 May."),
    _m("lucia.moreno_due", "fact", "Moreno contract translation due 21 May; a sworn copy is required."),
    _m("lucia.hotel_update", "fact", "Hotel website update due 21 June, about 900 words."),
    _m("lucia.lingua_pays", "fact", "Lingua Plus pays invoices at 90 days; always chase at day 75."),
    _m("lucia.vertex_pays", "fact", "Vertex Agency pays invoices at 30 days, reliably."),
    _m("lucia.no_medical", "preference", "I don't take medical translation work; the liability is too high."),
    _m(
        "lucia.take_legal",
        "preference",
        "I take legal and technical translation work, and marketing when it pays well.",
    ),
    _m(
        "lucia.no_deepl",
        "instruction",
        "Do not run client texts through DeepL or any machine translation; agencies forbid it.",
    ),
    _m("lucia.use_trados", "instruction", "Use Trados for every client text; agencies expect the file format."),
    _m(
        "lucia.inbox_tuesday",
        "observation",
        "The inbox-sorting agent did not label anything on Tuesday: the Gmail filter broke.",
    ),
    _m(
        "lucia.inbox_wednesday",
        "observation",
        "The inbox-sorting agent labelled 48 emails on Wednesday without errors.",
    ),
    _m("lucia.holiday_august", "fact", "Away on holiday from 3 to 17 August: no jobs."),
    _m("lucia.holiday_december", "fact", "Away on holiday from 20 to 27 December: no jobs."),
    _m("lucia.pm_vertex", "fact", "Project manager at Vertex Agency is Helen Park; send her all queries."),
    _m("lucia.pm_lingua", "fact", "Project manager at Lingua Plus is Tom Reyes; send him all queries."),
    _m("lucia.court_rome", "fact", "Sworn translations for the Rome court need a digital signature only."),
    _m("lucia.court_madrid", "fact", "Sworn translations for the Madrid court need a stamped paper copy."),
    # --- Ravi: solo SaaS founder (Tallybook) --------------------------------------------------------------
    _m("ravi.fly_move", "decision", "Moved hosting from Heroku to Fly.io in February to cut the bill in half."),
    _m(
        "ravi.cloud_credits",
        "fact",
        "Cloud credits from the startup program expire in 2026; switch the CI runners before then.",
    ),
    _m("ravi.lunch", "preference", "Lunch is sacred: 12:30 to 13:30, nothing in the calendar."),
    _m("ravi.investor_meeting", "fact", "Meeting with the Tallybook investors at twelve on Thursday."),
    _m(
        "ravi.churn_agent",
        "observation",
        "The churn-email agent sent 112 win-back emails last Tuesday and 9 people resubscribed.",
    ),
    _m("ravi.cancel_survey", "fact", "Former users get a survey after they cancel; about 20% answer."),
    _m("ravi.acme_plan", "fact", "Acme Print is on the Scale plan at 640 USD a month."),
    _m("ravi.bluefern_plan", "fact", "Blue Fern Studio is on the Team plan at 180 USD a month."),
    _m("ravi.harbor_plan", "fact", "Harbor Dental is on the Team plan at 240 USD a month."),
    _m(
        "ravi.outage_2_september",
        "observation",
        "2 September outage: a bad migration took the API down for 40 minutes.",
    ),
    _m("ravi.outage_22_september", "observation", "22 September outage: the DNS provider failed, 15 minutes down."),
    _m("ravi.outage_2_november", "observation", "2 November outage: the database disk filled up, 2 hours down."),
    _m("ravi.ads_reddit", "observation", "Reddit ads in October: 8 USD per trial signup."),
    _m("ravi.ads_google", "observation", "Google ads in October: 31 USD per trial signup."),
    _m("ravi.ads_linkedin", "observation", "LinkedIn ads in October: 55 USD per trial signup."),
    _m(
        "ravi.no_mobile_app",
        "decision",
        "Decided not to build a mobile app this year; the web app is responsive enough.",
    ),
    _m("ravi.build_csv", "decision", "Decided to build the CSV import this quarter; customers keep asking for it."),
    _m(
        "ravi.no_pixelcraft",
        "decision",
        "Won't hire the Pixelcraft agency again: they missed every deadline on the landing page.",
    ),
    _m("ravi.hire_dana", "decision", "Hire Dana Kim again for copywriting; she is fast and cheap."),
    _m(
        "ravi.review_missed",
        "observation",
        "The code-review agent did not catch the SQL injection in PR 214; a human reviewer found it.",
    ),
    _m("ravi.review_caught", "observation", "The code-review agent caught the missing index in PR 220 before merge."),
    _m("ravi.price_april", "decision", "Price increase for existing customers goes live in April."),
    _m("ravi.price_january", "decision", "Price increase for new customers goes live in January."),
    _m("ravi.billing_acme", "fact", "Priya at Acme Print handles billing questions."),
    _m("ravi.billing_harbor", "fact", "Jonas at Harbor Dental handles billing questions."),
    _m("ravi.update_july", "summary", "Investor update for July: MRR 14.2k, churn 3.1%."),
    _m("ravi.update_june", "summary", "Investor update for June: MRR 13.1k, churn 4.0%."),
    _m("ravi.update_may", "summary", "Investor update for May: MRR 12.5k, churn 3.6%."),
)


def _q(
    category: Category,
    text: str,
    expected: str,
    *near_misses: str,
    foreign: tuple[str, ...] = (),
    pivot: str | None = None,
) -> IndependentQuery:
    return IndependentQuery(
        category=category,
        user=expected.split(".", 1)[0],
        text=text,
        expected=(expected,),
        near_misses=near_misses,
        foreign=foreign,
        pivot=pivot,
    )


QUERIES: tuple[IndependentQuery, ...] = (
    # --- Nadia ---
    _q(
        "paraphrase",
        "who looks after my accounts and taxes?",
        "nadia.bookkeeper",
        "nadia.receivables",
        "nadia.flat_sale",
    ),
    _q(
        "paraphrase",
        "can someone book a video chat with me at 8:30 am?",
        "nadia.no_early_calls",
        "nadia.fernhill_video",
    ),
    _q(
        "paraphrase",
        "why didn't the automated status summary reach anyone?",
        "nadia.report_agent_failed",
        "nadia.status_summary",
        "nadia.db_backup",
    ),
    _q(
        "number_date",
        "which invoice was for more than 2,000 euros?",
        "nadia.invoice_031",
        "nadia.invoice_029",
        "nadia.invoice_033",
        foreign=("lucia.lingua_pays", "lucia.vertex_pays"),
    ),
    _q(
        "number_date",
        "what did I decide on 14 March?",
        "nadia.decided_14_march",
        "nadia.decided_4_march",
        "nadia.decided_14_may",
    ),
    _q(
        "number_date",
        "which project ran more than 10 hours over its estimate?",
        "nadia.fernhill_closed",
        "nadia.churn_closed",
        "nadia.forecast_closed",
    ),
    _q(
        "negation",
        "which dashboard tool do I not want to use for clients?",
        "nadia.no_tableau",
        "nadia.use_metabase",
        "nadia.decided_14_may",
    ),
    _q("negation", "who should I not ask for a reference?", "nadia.no_reference_marek", "nadia.reference_julia"),
    _q(
        "negation",
        "which run of the invoice-chasing agent did not complete?",
        "nadia.chaser_run_7",
        "nadia.chaser_run_8",
        foreign=("lucia.inbox_tuesday", "oskar.backup_friday", "ravi.review_missed"),
    ),
    _q(
        "month_name",
        "what did Fernhill and I agree at the April review?",
        "nadia.review_april",
        "nadia.review_january",
        "nadia.review_july",
        foreign=("ravi.price_april",),
        pivot="april",
    ),
    _q(
        "month_name",
        "where does Julia want the data dictionary?",
        "nadia.dictionary_julia",
        "nadia.dictionary_tomasz",
        "nadia.dictionary_marek",
        pivot="julia",
    ),
    _q(
        "month_name",
        "which contract renews in November?",
        "nadia.renews_copperleaf",
        "nadia.renews_fernhill",
        pivot="november",
    ),
    # --- Oskar ---
    _q("paraphrase", "where do I buy wood, and how early must I place it?", "oskar.timber", "oskar.glue"),
    _q("paraphrase", "can a buyer come to see a table at 7 pm?", "oskar.evenings", "oskar.buyer_visit"),
    _q(
        "paraphrase",
        "why are some items on the web store still showing yesterday's cost?",
        "oskar.sync_crash",
        "oskar.store_sort",
    ),
    _q(
        "number_date",
        "which order is worth more than 10,000 SEK?",
        "oskar.order_1187",
        "oskar.order_1191",
        "oskar.order_1176",
    ),
    _q(
        "number_date",
        "what did I agree with the gallery on 3 October?",
        "oskar.gallery_3_october",
        "oskar.cafe_13_october",
        "oskar.gallery_3_november",
    ),
    _q(
        "number_date",
        "which timber delivery is more than 2 cubic metres?",
        "oskar.oak_delivery",
        "oskar.ash_delivery",
        "oskar.birch_delivery",
    ),
    _q("negation", "what finish should I not use on the tables?", "oskar.no_polyurethane", "oskar.hardwax"),
    _q("negation", "whose commissions should I not accept again?", "oskar.no_nyberg", "oskar.more_lind"),
    _q(
        "negation",
        "when did the photo backup not run?",
        "oskar.backup_friday",
        "oskar.backup_saturday",
        foreign=("nadia.chaser_run_7", "lucia.inbox_tuesday"),
    ),
    _q(
        "month_name",
        "what wood does Lina Ek want for her side table?",
        "oskar.lina_ek",
        "oskar.lina_berg",
        pivot="ek",
    ),
    _q(
        "month_name",
        "how many cutting boards did I sell at the December craft market?",
        "oskar.market_december",
        "oskar.market_september",
        foreign=("lucia.holiday_december",),
        pivot="december",
    ),
    _q(
        "month_name",
        "what does shipping a crate to Germany cost?",
        "oskar.shipping_germany",
        "oskar.shipping_norway",
        pivot="germany",
    ),
    # --- Lucia ---
    _q(
        "paraphrase",
        "how much do I charge for contracts and court papers?",
        "lucia.legal_rate",
        "lucia.court_courier",
        "lucia.rush",
    ),
    _q(
        "paraphrase",
        "who looks over my translations ahead of handing them in?",
        "lucia.proofreader",
        "lucia.vertex_portal",
    ),
    _q(
        "paraphrase",
        "was the machine-generated word list worth anything?",
        "lucia.glossary_agent",
        "lucia.anki",
        "lucia.no_deepl",
    ),
    _q(
        "number_date",
        "which job is over 10,000 words?",
        "lucia.job_solar",
        "lucia.job_hotel",
        "lucia.job_pharma",
    ),
    _q(
        "number_date",
        "what do I have to deliver on 21 May?",
        "lucia.moreno_due",
        "lucia.hotel_update",
        "lucia.job_pharma",
        "lucia.job_hotel",
    ),
    _q(
        "number_date",
        "which agency takes longer than 60 days to pay?",
        "lucia.lingua_pays",
        "lucia.vertex_pays",
        foreign=("nadia.receivables",),
    ),
    _q("negation", "what kind of translation work do I not take?", "lucia.no_medical", "lucia.take_legal"),
    _q(
        "negation",
        "which translation tools am I not allowed to use on client texts?",
        "lucia.no_deepl",
        "lucia.use_trados",
    ),
    _q(
        "negation",
        "on which day did the inbox-sorting agent not label anything?",
        "lucia.inbox_tuesday",
        "lucia.inbox_wednesday",
        foreign=("oskar.backup_friday", "nadia.chaser_run_7"),
    ),
    _q(
        "month_name",
        "am I taking jobs in August?",
        "lucia.holiday_august",
        "lucia.holiday_december",
        pivot="august",
    ),
    _q(
        "month_name",
        "who is my project manager at Vertex?",
        "lucia.pm_vertex",
        "lucia.pm_lingua",
        pivot="vertex",
    ),
    _q(
        "month_name",
        "what does the Rome court need for a sworn translation?",
        "lucia.court_rome",
        "lucia.court_madrid",
        pivot="rome",
    ),
    # --- Ravi ---
    _q("paraphrase", "what made me switch cloud providers?", "ravi.fly_move", "ravi.cloud_credits"),
    _q("paraphrase", "can I put a meeting at half past twelve?", "ravi.lunch", "ravi.investor_meeting"),
    _q(
        "paraphrase",
        "how many former users returned after the re-engagement outreach?",
        "ravi.churn_agent",
        "ravi.cancel_survey",
    ),
    _q(
        "number_date",
        "which customer pays more than 500 USD a month?",
        "ravi.acme_plan",
        "ravi.bluefern_plan",
        "ravi.harbor_plan",
    ),
    _q(
        "number_date",
        "what caused the outage on 2 September?",
        "ravi.outage_2_september",
        "ravi.outage_22_september",
        "ravi.outage_2_november",
    ),
    _q(
        "number_date",
        "which ad channel costs less than 10 USD per trial signup?",
        "ravi.ads_reddit",
        "ravi.ads_google",
        "ravi.ads_linkedin",
    ),
    _q("negation", "what did I decide not to build?", "ravi.no_mobile_app", "ravi.build_csv"),
    _q("negation", "which contractor should I not hire again?", "ravi.no_pixelcraft", "ravi.hire_dana"),
    _q(
        "negation",
        "which bug did the code-review agent not catch?",
        "ravi.review_missed",
        "ravi.review_caught",
        foreign=("lucia.inbox_tuesday", "oskar.backup_friday"),
    ),
    _q(
        "month_name",
        "what price change goes live in April?",
        "ravi.price_april",
        "ravi.price_january",
        foreign=("nadia.review_april",),
        pivot="april",
    ),
    _q(
        "month_name",
        "who handles billing at Acme Print?",
        "ravi.billing_acme",
        "ravi.billing_harbor",
        pivot="Acme Print",
    ),
    _q(
        "month_name",
        "what was MRR in the July investor update?",
        "ravi.update_july",
        "ravi.update_june",
        "ravi.update_may",
        foreign=("nadia.review_july",),
        pivot="july",
    ),
)


def memories_of(user: str) -> list[Memory]:
    return [m for m in MEMORIES if m.user == user]


# --- measuring (shared by test_recall_independent.py and bench/recall_independent.py) -----------------------

TOP_K = 5
BATCH = 100
# Memories of the tuned set's distractor generator, for a user: `noise(user, count)`.
Noise = Callable[[str, int], list[MemoryItem]]


@dataclass(frozen=True)
class Outcome:
    query: IndependentQuery
    # 1-based rank of the target among the hits (limit MAX_LIMIT), None when it is not among them.
    rank: int | None
    top: tuple[str, ...]
    # A near-miss ranked above the target (or returned while the target was not).
    near_miss_first: bool
    leaks: tuple[str, ...]


@dataclass
class Measurement:
    outcomes: list[Outcome] = field(default_factory=list)

    def of(self, category: Category | None = None) -> list[Outcome]:
        return [o for o in self.outcomes if category is None or o.query.category == category]

    def recall_at(self, k: int, category: Category | None = None) -> float:
        chosen = self.of(category)
        return sum(1 for o in chosen if o.rank is not None and o.rank <= k) / len(chosen)

    def recall_at_5(self, category: Category | None = None) -> float:
        return self.recall_at(TOP_K, category)

    def mrr(self, category: Category | None = None) -> float:
        chosen = self.of(category)
        return sum(1 / o.rank for o in chosen if o.rank is not None) / len(chosen)

    @property
    def leaks(self) -> list[str]:
        return [f"{o.query.text!r} ({o.query.user}) got {list(o.leaks)}" for o in self.outcomes if o.leaks]

    def table(self, title: str) -> str:
        lines = [
            title,
            "| category | queries | recall@5 | recall@1 | MRR | near-miss above target |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for category in (*CATEGORIES, None):
            chosen = self.of(category)
            first = sum(o.near_miss_first for o in chosen)
            lines.append(
                f"| {category or '**overall**'} | {len(chosen)} | {self.recall_at_5(category):.3f} | "
                f"{self.recall_at(1, category):.3f} | {self.mrr(category):.3f} | {first} |"
            )
        lines.append("")
        lines.append("misses (rank of the target among the hits; its top 5):")
        for o in self.outcomes:
            if o.rank is None or o.rank > TOP_K:
                rank = "not returned" if o.rank is None else f"rank {o.rank}"
                lines.append(f"- [{o.query.category}] {o.query.text!r}: {rank}; top 5 {list(o.top)}")
        return "\n".join(lines)


async def remember_set(memory: MemoryGatewayClient) -> dict[UUID, str]:
    """Store every memory of the set, one batch per user; returns the label of each stored id."""
    labels: dict[UUID, str] = {}
    for user in USERS:
        mine = memories_of(user)
        result = await memory.remember_batch(user, [m.item() for m in mine])
        outcomes = [r.outcome for r in result.results]
        assert outcomes == ["created"] * len(mine), f"{user}: a memory of the set merged: {outcomes}"
        labels.update({r.memory.id: m.label for r, m in zip(result.results, mine, strict=True)})
    return labels


async def remember_noise(memory: MemoryGatewayClient, noise: Noise, *, start: int, stop: int) -> None:
    """The tuned set's distractors [start, stop) of every user, in batches of 100."""
    for user in USERS:
        items = noise(user, stop)[start:]
        for first in range(0, len(items), BATCH):
            result = await memory.remember_batch(user, items[first : first + BATCH])
            outcomes = {r.outcome for r in result.results}
            assert outcomes == {"created"}, f"a distractor merged into an earlier memory: {outcomes}"


async def measure(
    memory: MemoryGatewayClient, labels: dict[UUID, str], queries: Sequence[IndependentQuery] = QUERIES
) -> Measurement:
    run = Measurement()
    for query in queries:
        # Every candidate of both retrievers fits in MAX_LIMIT hits: the top 5 are those of limit=5.
        result = await memory.recall(query.user, query.text, limit=MAX_LIMIT, use_cache=False)
        ranked = [labels.get(hit.memory.id, "(noise)") for hit in result.hits]
        rank = next((i + 1 for i, label in enumerate(ranked) if label in query.expected), None)
        near = [i + 1 for i, label in enumerate(ranked) if label in query.near_misses]
        near_first = bool(near) and (rank is None or min(near) < rank)
        leaks = [f"user {hit.memory.user_id}" for hit in result.hits if hit.memory.user_id != query.user]
        leaks += [label for label in ranked if label in query.foreign]
        run.outcomes.append(Outcome(query, rank, tuple(ranked[:TOP_K]), near_first, tuple(leaks)))
    return run
