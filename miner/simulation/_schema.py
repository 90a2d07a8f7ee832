"""The shape of a scenario file: every section, key and the kind of value it takes.

Kinds: ``nonneg`` a number >= 0; ``count`` a whole number >= 0; ``prob`` a number in [0, 1];
``shares:a,b`` shares over exactly those keys summing to 1; ``counts:a,b`` numbers >= 0 per key;
``sitecounts``/``siteprobs`` per site; ``time`` HH:MM; ``date`` YYYY-MM-DD; ``dist`` a duration
distribution table; ``weights:N`` a list of N weights >= 0; ``site``, ``str``, ``bool``.
"""

from __future__ import annotations

SITES = ("ter_apel", "budel")
DISTS = {
    "fixed": ("value",),
    "uniform": ("low", "high"),
    "triangular": ("low", "mode", "high"),
    "lognormal": ("median", "p90"),
    "exponential": ("mean",),
}

# kind per key; "shares:a,b" = shares over exactly those keys summing to 1
SCHEMA: dict[str, dict[str, str]] = {
    "inflow": {
        "per_year": "nonneg",
        "monthly_profile": "weights:12",
        "hour_weights": "weights:24",
        "sites": "shares:ter_apel,budel",
        "kind": "shares:first,repeat",
        "spoor": "shares:spoor1,spoor2,spoor4",
    },
    "aanmeld": {
        "balie_open": "time",
        "balie_close": "time",
        "ir_quota": "sitecounts",
        "ir_open": "time",
        "ir_close": "time",
        "ir_step_minutes": "dist",
        "p_aanvullend_gehoor": "prob",
        "p_ind_identity": "prob",
        "regietafel_time": "time",
        "medical_time": "time",
        "hearing_time": "time",
        "hearing_capacity": "sitecounts",
        "hearing_target_day": "count",
        "noshow": "siteprobs",
        "politie_full_strength": "date",
        "p_politie_regietafel2": "prob",
    },
    "measure": {"site": "site", "start": "date", "noshow_after": "prob"},
    "col": {"transfer_wait_days": "dist"},
    "rvt": {
        "min_days": "nonneg",
        "pol_capacity": "count",
        "p_kmar_documents": "prob",
        "step_days": "dist",
    },
    "aa": {
        "starts_per_workday": "count",
        "horizon_weeks": "count",
        "p_noshow_nader_gehoor": "prob",
        "initial_decision": "shares:inwilliging,va,voornemen",
        "final_after_voornemen": "shares:afwijzing,inwilliging,va",
    },
    "va": {"duration_weeks": "dist", "outcome": "shares:inwilliging,afwijzing"},
    "beroep": {
        "p_beroep": "prob",
        "duration_weeks": "dist",
        "p_gegrond": "prob",
        "new_decision": "shares:inwilliging,afwijzing",
        "p_hoger_beroep": "prob",
    },
    "dublin": {"claim_weeks": "dist", "outcome": "shares:overdracht,aa"},
    "spoor2": {"decision_days": "dist", "outcome": "shares:afwijzing,aa,inwilliging"},
    "hasa": {"decision_days": "dist", "outcome": "shares:afwijzing,aa,inwilliging"},
    "gemeenten": {"housing_per_week": "nonneg", "azc_transfer_days": "dist"},
    "dtv": {
        "other_sources_per_year": "counts:kmar,politie,overig",
        "departure": "shares:zelfstandig,gedwongen,zonder_toezicht",
        "p_aanvullend_id": "prob",
        "p_projectgroep": "prob",
        "p_vbl": "prob",
        "handover_days": "dist",
        "step_days": "dist",
        "departure_weeks": "dist",
        "reception_leave_days": "nonneg",
    },
    "initial": {
        "aa_queue": "count",
        "aa_queue_weeks": "nonneg",
        "va_stock": "count",
        "permit_holders": "count",
        "dtv_caseload": "count",
    },
    "faults": {
        "duplicate_row": "prob",
        "missing_timestamp": "prob",
        "impossible_timestamp": "prob",
        "misspelt_code": "prob",
        "missing_vnummer": "prob",
        "typo_vnummer": "prob",
        "coa_late_update": "prob",
        "coa_missing_end": "prob",
        "smartflow_missing": "prob",
    },
    "deviations": {
        "skip_medical": "prob",
        "late_medical": "prob",
        "repeat_photo": "prob",
        "spoor_after_hearing": "prob",
        "documents_by_politie": "prob",
    },
}
TOP = {"name": "str", "base": "str", "start": "date", "years": "nonneg", "description": "str"}
NATIONALITY = {
    "name": "str",
    "iso3": "str",
    "iso2": "str",
    "weight": "nonneg",
    "priority": "bool",
    "names": "str",
}
NAME_GROUPS = ("arabisch", "perzisch", "hoorn", "turks", "westafrikaans", "kaukasisch")
