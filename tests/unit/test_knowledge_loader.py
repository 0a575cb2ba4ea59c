"""A broken knowledge-base file fails naming the file, the item id and the field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from safewindow.domain.consistency import check
from safewindow.knowledge.loader import DATA_DIR, KnowledgeError, load_knowledge_base


@pytest.fixture
def data(tmp_path: Path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(DATA_DIR, copy)
    return copy


def replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def test_the_shipped_base_loads_and_is_consistent() -> None:
    kb = load_knowledge_base()
    assert {
        "microneedling",
        "botox",
        "dermal-filler",
        "kybella",
        "prp",
        "pdo-threads",
        "chemical-peel-light",
        "chemical-peel-medium",
        "chemical-peel-deep",
        "laser-ablative",
        "laser-nonablative",
        "ipl",
        "mfu-v",
        "hydrafacial",
        "dermaplaning",
        "microdermabrasion",
        "rf-microneedling",
    } <= set(kb.treatments)
    assert {
        "botox-after-microneedling",
        "botox-and-filler-same-day",
        "microneedling-aftercare",
        "botox-aftercare",
        "filler-warning-signs",
        "pregnancy-and-treatments",
    } <= set(kb.articles)
    assert [p for p in check(kb) if p.contradiction] == []


def test_a_missing_field_names_file_rule_and_field(data: Path) -> None:
    replace(data / "rules.yaml", "    evidence: practice\n", "\n")
    with pytest.raises(KnowledgeError) as error:
        load_knowledge_base(data)
    assert error.value.file.name == "rules.yaml"
    assert error.value.item == "microneedling-then-botox"
    assert error.value.field == "evidence"
    assert str(error.value).startswith("rules.yaml, microneedling-then-botox, field evidence:")


def test_an_unknown_slug_is_named(data: Path) -> None:
    replace(data / "rules.yaml", "before: [toxin]", "before: [botx]")
    with pytest.raises(KnowledgeError, match=r"rules.yaml, microneedling-then-botox, field before: 'botx'"):
        load_knowledge_base(data)


def test_a_bad_span(data: Path) -> None:
    replace(data / "rules.yaml", 'min: "1 month"', 'min: "1 fortnight"')
    with pytest.raises(KnowledgeError, match="kybella-repeat, field min"):
        load_knowledge_base(data)


def test_a_factor_effect_on_an_unknown_treatment(data: Path) -> None:
    replace(data / "factors.yaml", "treatments: [kybella]", "treatments: [kybela]")
    with pytest.raises(KnowledgeError, match=r"factors.yaml, allergy-deoxycholic-acid, field effects.0.treatments"):
        load_knowledge_base(data)


def test_a_duplicate_id(data: Path) -> None:
    replace(data / "rules.yaml", "id: botox-then-microneedling", "id: microneedling-then-botox")
    with pytest.raises(KnowledgeError, match="microneedling-then-botox, field id: the id is used twice"):
        load_knowledge_base(data)


def test_not_yaml(data: Path) -> None:
    (data / "factors.yaml").write_text("factors: [\n")
    with pytest.raises(KnowledgeError, match=r"factors\.yaml: not valid YAML"):
        load_knowledge_base(data)


def test_an_article_without_sources(data: Path) -> None:
    article = data / "articles" / "botox-aftercare.md"
    text = article.read_text()
    start = text.index("sources:")
    end = text.index("---", start)
    article.write_text(text[:start] + text[end:])
    with pytest.raises(KnowledgeError, match=r"botox-aftercare\.md, botox-aftercare, field sources"):
        load_knowledge_base(data)


def test_a_minimum_beyond_a_maximum_along_a_chain_is_a_contradiction(data: Path) -> None:
    # botox -> microneedling (14) -> touch-up (14) = 28 days; a touch-up maximum of 21 cannot hold.
    replace(data / "rules.yaml", "    max: 28\n", "    max: 21\n")
    replace(data / "rules.yaml", "ideal: [14, 28]\n    max: 21", "ideal: [14, 21]\n    max: 21")
    problems = [p for p in check(load_knowledge_base(data)) if p.contradiction]
    assert any(
        p.where == "botox-then-touch-up" and p.chain == ("botox", "microneedling", "botox-touch-up") for p in problems
    )


def test_a_minimum_beyond_the_rule_s_own_maximum(data: Path) -> None:
    replace(data / "rules.yaml", "ideal: [14, 28]\n    max: 28", "ideal: [14, 28]\n    max: 10")
    problems = check(load_knowledge_base(data))
    assert any(p.where == "botox-then-touch-up" and p.contradiction and "maximum" in p.problem for p in problems)
