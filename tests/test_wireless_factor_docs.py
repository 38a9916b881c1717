"""Issue 20.6: every factor the scorer can emit states its known false positives, in the code,
on the scoring page, on the network page and in docs/wireless-scoring.md."""

from __future__ import annotations

import re
from pathlib import Path

from app.wireless.scoring_help import FACTORS, FALSE_POSITIVES

ROOT = Path(__file__).resolve().parents[1]
FACTOR_CALL = re.compile(r"(?:_factor|make_factor)\(\s*\"([a-z_]+)\"")


def emitted_codes() -> set[str]:
    """Every factor code written in the scorer's modules."""
    codes: set[str] = set()
    for path in (ROOT / "app" / "wireless").glob("scoring*.py"):
        codes |= set(FACTOR_CALL.findall(path.read_text()))
    return codes


def test_every_emitted_factor_has_false_positive_conditions():
    codes = emitted_codes()
    assert {"follow_legs", "same_day", "watcher", "tracker_kind", "own_device"} <= codes  # the scan finds them
    missing = sorted(c for c in codes if len(FALSE_POSITIVES.get(c, "").strip()) < 10)
    assert not missing, f"factors without known false positives: {missing}"
    assert len({c for c, *_ in FACTORS}) == len(FACTORS)


def test_the_docs_table_matches_the_code():
    text = (ROOT / "docs" / "wireless-scoring.md").read_text()
    section = text[text.index("## Known false positives, factor by factor"):]
    section = section[:section.index("\n## ", 5)]
    for code, _label, what, fp in FACTORS:
        assert f"| `{code}` | {what} | {fp} |" in section, code


def test_scoring_page_shows_them(client, orgs):
    client.login(orgs.a.users["analyst"].email)
    page = client.get("/wireless/scoring").get_data(as_text=True)
    assert 'id="factor-false-positives"' in page
    for code, _label, _what, fp in FACTORS:
        assert f'data-factor="{code}"' in page and fp.replace("'", "&#39;") in page, code


def test_network_page_states_them_next_to_each_factor(client, orgs):
    from app.wireless import rescore
    from tests.test_wireless_rescore import scenario

    follower, _, _ = scenario(orgs.a.org.id)
    rescore.rescore(orgs.a.org.id)
    client.login(orgs.a.users["analyst"].email)
    page = client.get(f"/wireless/networks/{follower.id}").get_data(as_text=True)
    row = page[page.index('data-factor="follow_legs"'):]
    row = row[:row.index("</tr>")]
    assert "Known false positives:" in row and "bus or train Wi-Fi" in row
