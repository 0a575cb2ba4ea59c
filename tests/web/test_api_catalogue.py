"""The knowledge base over HTTP: treatments, factors and rules are the CLI's --json rows; articles by slug."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from safewindow.cli.main import app as cli
from safewindow.domain.knowledge_base import KnowledgeBase


def cli_json(*args: str) -> Any:
    result = CliRunner().invoke(cli, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("name", ["treatments", "factors", "rules"])
def test_the_rows_are_the_cli_s_json(client: TestClient, name: str) -> None:
    response = client.get(f"/api/v1/{name}")
    assert response.status_code == 200
    assert response.json() == cli_json(name)


def test_articles_are_listed_and_each_opens_by_its_slug(client: TestClient, kb: KnowledgeBase) -> None:
    listed = client.get("/api/v1/articles").json()
    assert [a["slug"] for a in listed] == list(kb.articles)
    for summary in listed:
        article = client.get(f"/api/v1/articles/{summary['slug']}").json()
        assert {k: v for k, v in article.items() if k != "body"} == summary
        assert article["body"] == kb.articles[summary["slug"]].body
        assert article["sources"]


def test_an_unknown_article_is_404_naming_the_slug(client: TestClient) -> None:
    response = client.get("/api/v1/articles/botox-on-the-moon")
    assert response.status_code == 404
    assert response.json() == {"detail": [{"field": "slug", "problem": "no article 'botox-on-the-moon'"}]}
