"""The server-rendered pages, as a browser without JavaScript gets them."""

from __future__ import annotations

import re
from html import unescape

import pytest
from fastapi.testclient import TestClient

from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.services.catalogue import FINAL_WORD

SEED_FORM = {"treatment": "botox", "history_treatment": ["microneedling", "", "", ""], "history_date": ["2026-11-10"]}


def page(client: TestClient, path: str, status: int = 200, **params: object) -> str:
    response = client.get(path, params=params)  # type: ignore[arg-type]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    return response.text


def text(html: str) -> str:
    """What a reader sees: tags dropped, entities decoded, white space collapsed."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def main_of(html: str) -> str:
    return html[html.index("<main") : html.index("</main>")]


@pytest.mark.parametrize("path", ["/", "/when", "/resources", "/treatments", "/resources/botox-aftercare"])
def test_every_page_has_landmarks_a_skip_link_and_the_practitioner_statement(client: TestClient, path: str) -> None:
    html = page(client, path)
    assert '<html lang="en-CA">' in html and '<meta name="viewport"' in html
    for landmark in ("<header", '<nav aria-label="Main">', '<main id="main"', "<footer"):
        assert landmark in html
    assert '<a class="skip-link" href="#main">' in html
    assert FINAL_WORD in text(html)
    assert html.count("<h1") == 1


def test_home_says_what_safewindow_is_and_links_onwards(client: TestClient) -> None:
    html = page(client, "/")
    for link in ('href="/when"', 'href="/resources"', 'href="/treatments"'):
        assert link in html
    assert "decision support" in text(html)


def test_the_empty_form_has_every_field_labelled(client: TestClient, kb: KnowledgeBase) -> None:
    html = page(client, "/when")
    assert '<form class="calculator" method="get" action="/when"' in html
    assert html.count('name="history_treatment"') >= 4 and html.count('name="history_date"') >= 4
    for factor in kb.factors.values():
        assert f'<label for="factor-{factor.id}">{factor.question}</label>'.replace("'", "&#39;") in html
    for control in re.findall(r"<(?:select|input)[^>]*>", html):
        control_id = re.search(r'id="([^"]+)"', control)
        assert control_id, control
        assert f'<label for="{control_id.group(1)}">' in html, control
    assert 'class="answer"' not in html


def test_the_calculator_answers_the_seed_question(client: TestClient) -> None:
    html = page(client, "/when", **SEED_FORM)
    answer = text(html[html.index('class="answer"') : html.index("</section>")])
    assert "Earliest safe date Tuesday 24 November 2026" in answer
    assert "Earliest date you can book Tuesday 24 November 2026" in answer
    assert "Ideal window Tuesday 24 November 2026 to Tuesday 8 December 2026" in answer
    assert '<time datetime="2026-12-08">' in html
    assert "microneedling-then-botox" in answer
    assert "Evidence: practice" in answer and "Source: practice: the seed article" in answer
    assert FINAL_WORD in answer
    # The form keeps the answers, and has a spare row.
    assert '<option value="botox" selected>' in html
    assert 'value="2026-11-10"' in html and html.count('name="history_date"') == 4


def test_a_proposed_date_gets_its_verdict(client: TestClient) -> None:
    too_soon = text(page(client, "/when", **SEED_FORM, on="2026-11-20"))
    assert "The date you have in mind: Friday 20 November 2026 Not on this date." in too_soon
    assert "2026-11-20 is too soon after microneedling on 2026-11-10: wait until 2026-11-24" in too_soon
    assert "Fine. It meets every timing rule and lies in the ideal window" in text(
        page(client, "/when", **SEED_FORM, on="2026-11-30")
    )
    assert "Possible, with a warning." in text(page(client, "/when", **SEED_FORM, on="2026-12-20"))


def test_no_ideal_window_is_said_plainly_with_why(client: TestClient) -> None:
    none = text(page(client, "/when", treatment="microneedling"))
    assert "Ideal window None. No timing rule links Microneedling to the treatments you listed" in none
    disjoint = text(
        page(
            client,
            "/when",
            treatment="botox",
            history_treatment=["microneedling", "dermal-filler"],
            history_date=["2026-06-01", "2026-11-20"],
        )
    )
    assert "Ideal window None. The ideal windows of these rules do not overlap, so there is no ideal date" in disjoint


def test_dates_already_past_are_marked_so(client: TestClient) -> None:
    html = text(
        page(client, "/when", treatment="botox", history_treatment=["microneedling"], history_date=["2026-06-01"])
    )
    assert "Earliest safe date Monday 15 June 2026 (already passed)" in html
    assert "Earliest date you can book Wednesday 11 November 2026" in html
    assert "Ideal window Monday 15 June 2026 to Monday 29 June 2026 (already passed)" in html


def test_a_hard_block_says_not_advised_and_why(client: TestClient) -> None:
    html = text(page(client, "/when", treatment="botox", factor="pregnancy"))
    assert "Not advised." in html and "Earliest safe date" not in html
    assert "pregnancy" in html and "hard rule: no override" in html


def test_bad_input_re_renders_the_form_with_each_error_beside_its_field(client: TestClient) -> None:
    html = page(
        client,
        "/when",
        400,
        treatment="",
        history_treatment=["microneedling", "botox", ""],
        history_date=["2026/11/10", "", "2026-11-01"],
        on="2026-02-30",
    )
    summary = text(html[html.index('class="error-summary"') : html.index("</div>", html.index("error-summary"))])
    assert "Treatment you would like: choose the treatment you would like" in summary
    assert "Treatment 1: '2026/11/10' is not a date in YYYY-MM-DD form" in summary
    assert "Treatment 2: give the date of this treatment" in summary
    assert "Treatment 3: choose the treatment on this date" in summary
    assert "Date you have in mind: '2026-02-30' is not a real date" in summary
    # Each message sits in its field's group, and the control points at it.
    assert re.search(r'id="treatment-error">.*choose the treatment you would like', html)
    assert 'id="treatment" name="treatment" aria-invalid="true" aria-describedby="treatment-error"' in html
    assert re.search(r'id="history-0-error">.*is not a date in YYYY-MM-DD form', html)
    assert re.search(r'id="history-0-date"[^>]*value="2026/11/10"[^>]*aria-invalid="true"', html)
    assert re.search(r'id="history-1-date"[^>]*aria-invalid="true"', html)
    assert re.search(r'id="history-2-treatment"[^>]*aria-invalid="true"', html)
    assert 'aria-describedby="on-hint on-error" aria-invalid="true"' in html
    assert 'href="#history-2-treatment"' in html and 'href="#on"' in html
    assert 'class="answer"' not in html


def test_an_unknown_treatment_or_factor_is_a_form_error(client: TestClient) -> None:
    html = text(page(client, "/when", 400, treatment="botx", factor="pregnant"))
    assert "unknown treatment 'botx'; did you mean botox?" in html and "unknown factor 'pregnant'" in html


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "2026-99999999999999999999-01"])
def test_dates_at_the_ends_of_the_calendar_are_form_errors(client: TestClient, day: str) -> None:
    html = page(client, "/when", 400, treatment="botox", history_treatment=["microneedling"], history_date=[day])
    assert 'id="history-0-error"' in html


def test_what_a_visitor_types_is_escaped(client: TestClient) -> None:
    html = page(client, "/when", 400, treatment="<script>alert(1)</script>", on="<b>x</b>")
    assert "<script>alert(1)" not in html and "<b>x</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_an_unknown_zone_on_a_page_is_a_400_page_naming_it(real_client: TestClient) -> None:
    html = text(page(real_client, "/when", 400, zone="Mars/Olympus"))
    assert "zone : 'Mars/Olympus' is not a known time zone" in html


def test_resources_list_every_article(client: TestClient, kb: KnowledgeBase) -> None:
    html = page(client, "/resources")
    for article in kb.articles.values():
        assert f'<a href="/resources/{article.slug}">' in html


def test_an_article_is_rendered_from_markdown_with_its_sources(client: TestClient, kb: KnowledgeBase) -> None:
    article = kb.articles["botox-after-microneedling"]
    html = page(client, "/resources/botox-after-microneedling")
    body = main_of(html)
    assert f'<h1 id="article-title">{article.title}</h1>' in body and body.count("<h1") == 1
    assert "<h2>Why wait?</h2>" in body and "<strong>wait at least 14 days</strong>" in body
    assert "<li><strong>Infection and irritation.</strong>" in body
    for source in article.sources:
        assert source.replace("'", "&#39;") in body
    assert FINAL_WORD in text(body)


def test_an_unknown_article_is_an_html_404(client: TestClient) -> None:
    html = page(client, "/resources/botox-on-the-moon", 404)
    assert "there is no article called 'botox-on-the-moon'" in text(html)


def test_the_treatments_page_lists_each_with_what_it_is(client: TestClient, kb: KnowledgeBase) -> None:
    html = text(page(client, "/treatments"))
    for treatment in kb.treatments.values():
        assert treatment.name in html and unescape(treatment.summary) in html
    assert "Aftercare and warning signs" in html
