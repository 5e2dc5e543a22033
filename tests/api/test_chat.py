"""/api/v1/chat on SQLite and PostgreSQL: conversations per user, answers grounded in the
caller's assessment and the knowledge base, persisted, and streamed over SSE."""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from infra_mind.engine.money import usd as money
from infra_mind.models import AuditEvent, ChatMessage
from infra_mind.services import chat as chat_service
from infra_mind.services.auth import remove_membership
from infra_mind.services.events import leases_of
from tests.api.helpers import (
    Member,
    create_assessment,
    create_member,
    wait_for_status,
)

CHAT = "/api/v1/chat/conversations"
ASSESSMENTS = "/api/v1/assessments"
AWS_QUESTION = "What would this cost on AWS?"


async def completed_assessment(client: httpx.AsyncClient, member: Member
                               ) -> tuple[str, dict[str, Any]]:
    """A new assessment of ``member``'s organization, run; its id and result."""
    aid = (await create_assessment(client, member))["id"]
    assert (await client.post(f"{ASSESSMENTS}/{aid}/run",
                              headers=member.headers)).status_code == 202
    await wait_for_status(client, member, aid)
    stored = await client.get(f"{ASSESSMENTS}/{aid}/result", headers=member.headers)
    return aid, stored.json()["result"]


async def start(client: httpx.AsyncClient, member: Member, **body: Any) -> dict[str, Any]:
    response = await client.post(CHAT, headers=member.headers, json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def ask(client: httpx.AsyncClient, member: Member, conversation_id: str,
              content: str) -> dict[str, Any]:
    response = await client.post(f"{CHAT}/{conversation_id}/messages", headers=member.headers,
                                 json={"content": content})
    assert response.status_code == 201, response.text
    return response.json()


def aws_cost(result: dict[str, Any]) -> str:
    aws = next(o for o in result["options"] if o["provider"] == "aws")
    return money(aws["monthly_cost_usd"])


async def count(app, *where) -> int:
    async with app.state.platform.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(where[0].table)
                                        .where(*where[1:])) or 0)


def events_of(text: str) -> list[tuple[str, Any]]:
    """(event, data as JSON) of each server-sent event."""
    events = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        name, data = block.split("\n", 1)
        events.append((name.removeprefix("event: "), json.loads(data.removeprefix("data: "))))
    return events


async def test_full_flow(app, client):
    owner = await create_member(app)
    aid, result = await completed_assessment(client, owner)

    conversation = await start(client, owner, assessment_id=aid)
    assert conversation["assessment_id"] == aid
    assert conversation["organization_id"] == owner.organization_id
    assert conversation["title"] == "About Shop"

    exchange = await ask(client, owner, conversation["id"], AWS_QUESTION)
    question, reply = exchange["user_message"], exchange["assistant_message"]
    assert (question["role"], question["content"], question["author"]) == (
        "user", AWS_QUESTION, "user")
    assert reply["role"] == "assistant" and reply["author"] == "offline"
    assert aws_cost(result) in reply["content"].split("\n\n")[0]
    aws = next(o for o in result["options"] if o["provider"] == "aws")
    assert reply["citations"][0]["kind"] == "fact"
    assert {"kind": "fact", "id": f"option:aws:{aws['region']}",
            "title": f"AWS / Amazon Web Services option ({aws['region']})",
            "url": None} in reply["citations"]
    assert reply["created_at"] > question["created_at"]

    listed = (await client.get(CHAT, headers=owner.headers)).json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == conversation["id"]
    assert "messages" not in listed["items"][0]

    read = (await client.get(f"{CHAT}/{conversation['id']}", headers=owner.headers)).json()
    assert [m["id"] for m in read["messages"]] == [question["id"], reply["id"]]
    assert read["messages"][1] == reply

    deleted = await client.delete(f"{CHAT}/{conversation['id']}", headers=owner.headers)
    assert deleted.status_code == 204
    gone = await client.get(f"{CHAT}/{conversation['id']}", headers=owner.headers)
    assert (gone.status_code, gone.json()) == (404, {"detail": "conversation not found"})
    assert await count(app, ChatMessage.id, ChatMessage.conversation_id
                       == conversation["id"]) == 0
    for action in ("conversation.created", "conversation.deleted"):
        assert await count(app, AuditEvent.id, AuditEvent.action == action,
                           AuditEvent.object_id == conversation["id"]) == 1
    # the assessment is untouched
    assert (await client.get(f"{ASSESSMENTS}/{aid}", headers=owner.headers)).status_code == 200


async def test_stream_sends_the_stored_question_the_answer_in_chunks_and_done(app, client):
    owner = await create_member(app)
    aid, result = await completed_assessment(client, owner)
    conversation = await start(client, owner, assessment_id=aid)
    response = await asyncio.wait_for(
        client.post(f"{CHAT}/{conversation['id']}/messages/stream", headers=owner.headers,
                    json={"content": AWS_QUESTION}), timeout=20)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    events = events_of(response.text)
    names = [name for name, _ in events]
    assert names[0] == "message" and names[-1] == "done"
    assert set(names[1:-1]) == {"delta"} and len(names) > 3
    question, done = events[0][1], events[-1][1]
    assert question["content"] == AWS_QUESTION and question["role"] == "user"
    text = "".join(data["text"] for name, data in events if name == "delta")
    assert text == done["content"] and aws_cost(result) in text
    assert done["citations"] and done["citations"][0]["kind"] == "fact"

    stored = (await client.get(f"{CHAT}/{conversation['id']}", headers=owner.headers)).json()
    assert stored["messages"] == [question, done]


async def test_another_users_conversation_is_not_found(app, client):
    owner = await create_member(app)
    colleague = await create_member(app, organization_id=owner.organization_id)
    outsider = await create_member(app)
    aid, _ = await completed_assessment(client, owner)
    conversation = await start(client, owner, assessment_id=aid)
    await ask(client, owner, conversation["id"], AWS_QUESTION)
    one = f"{CHAT}/{conversation['id']}"
    for other in (colleague, outsider):  # the same organization does not matter
        for method, url, body in (("GET", one, None), ("DELETE", one, None),
                                  ("POST", f"{one}/messages", {"content": "hi"}),
                                  ("POST", f"{one}/messages/stream", {"content": "hi"})):
            response = await client.request(method, url, headers=other.headers, json=body)
            assert (response.status_code, response.json()) == (
                404, {"detail": "conversation not found"}), (method, url)
        assert (await client.get(CHAT, headers=other.headers)).json()["total"] == 0
    still = (await client.get(one, headers=owner.headers)).json()
    assert len(still["messages"]) == 2


async def test_a_conversation_about_another_organizations_assessment_is_not_found(app, client):
    owner = await create_member(app)
    outsider = await create_member(app)
    aid = (await create_assessment(client, owner))["id"]
    for body in ({"assessment_id": aid}, {"assessment_id": "no-such-assessment"}):
        response = await client.post(CHAT, headers=outsider.headers, json=body)
        assert (response.status_code, response.json()) == (
            404, {"detail": "assessment not found"})
    assert (await client.get(CHAT, headers=outsider.headers)).json()["total"] == 0
    # a viewer of the organization may chat about it (reading is enough)
    viewer = await create_member(app, role="viewer", organization_id=owner.organization_id)
    assert (await start(client, viewer, assessment_id=aid))["organization_id"] \
        == owner.organization_id


async def test_limits(app, client, monkeypatch):
    owner = await create_member(app)
    conversation = await start(client, owner, title="  Mine  ")
    assert conversation["title"] == "Mine" and conversation["assessment_id"] is None
    url = f"{CHAT}/{conversation['id']}/messages"
    for content in ("x" * 4001, "", "   "):
        for target in (url, f"{url}/stream"):
            response = await client.post(target, headers=owner.headers,
                                         json={"content": content})
            assert response.status_code == 422, (len(content), target)
            assert response.json()["problems"][0].startswith("body.content")
    assert (await client.post(CHAT, headers=owner.headers,
                              json={"title": "t" * 201})).status_code == 422
    assert (await client.post(CHAT, headers=owner.headers,
                              json={"colour": "red"})).status_code == 422
    assert (await ask(client, owner, conversation["id"], "x" * 4000))["user_message"]

    monkeypatch.setattr(chat_service, "MAX_MESSAGES", 4)
    await ask(client, owner, conversation["id"], "What is a NAT gateway?")  # messages 3, 4
    for target in (url, f"{url}/stream"):
        full = await client.post(target, headers=owner.headers, json={"content": "more?"})
        assert (full.status_code, full.json()) == (409, {
            "detail": "this conversation holds its limit of 4 messages; start a new one"})
    read = (await client.get(f"{CHAT}/{conversation['id']}", headers=owner.headers)).json()
    assert len(read["messages"]) == 4


async def test_write_rate_limit_counts_chat_writes(app, client):
    app.state.platform.settings.write_rate_per_minute = 2
    owner = await create_member(app)
    conversation = await start(client, owner)
    await ask(client, owner, conversation["id"], "What is a CDN?")
    limited = await client.post(f"{CHAT}/{conversation['id']}/messages",
                                headers=owner.headers, json={"content": "and a NAT?"})
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert (await client.get(CHAT, headers=owner.headers)).status_code == 200  # reads go on


async def test_membership_removed_means_the_assessment_is_no_longer_used(app, client):
    owner = await create_member(app)
    analyst = await create_member(app, role="member", organization_id=owner.organization_id)
    aid, result = await completed_assessment(client, owner)
    conversation = await start(client, analyst, assessment_id=aid)
    before = (await ask(client, analyst, conversation["id"], AWS_QUESTION))
    assert aws_cost(result) in before["assistant_message"]["content"]

    assert await remove_membership(app.state.platform, user_id=analyst.user_id,
                                   organization_id=owner.organization_id)
    after = (await ask(client, analyst, conversation["id"], AWS_QUESTION))["assistant_message"]
    assert after["content"].startswith(chat_service.NOT_READABLE)
    assert aws_cost(result) not in after["content"]
    assert all(c["kind"] == "article" for c in after["citations"])
    # the conversation stays the analyst's own
    read = await client.get(f"{CHAT}/{conversation['id']}", headers=analyst.headers)
    assert read.status_code == 200 and len(read.json()["messages"]) == 4


async def test_no_result_yet_answers_from_the_knowledge_base(app, client, held):
    owner = await create_member(app)
    aid = (await create_assessment(client, owner))["id"]
    conversation = await start(client, owner, assessment_id=aid)
    reply = (await ask(client, owner, conversation["id"], "What is a NAT gateway?")
             )["assistant_message"]
    assert reply["content"].startswith(chat_service.NO_RESULT)
    assert reply["citations"] and all(c["kind"] == "article" for c in reply["citations"])


async def test_deleting_the_assessment_keeps_the_conversation(app, client, held):
    owner = await create_member(app)
    aid = (await create_assessment(client, owner))["id"]
    conversation = await start(client, owner, assessment_id=aid)
    assert (await client.delete(f"{ASSESSMENTS}/{aid}",
                                headers=owner.headers)).status_code == 204
    read = (await client.get(f"{CHAT}/{conversation['id']}", headers=owner.headers)).json()
    assert read["assessment_id"] is None
    assert (await ask(client, owner, conversation["id"], "What is a CDN?"))["assistant_message"]


async def test_list_pages_most_recently_active_first(app, client):
    owner = await create_member(app)
    stranger = await create_member(app)
    await start(client, stranger, title="not mine")
    ids = [(await start(client, owner, title=f"c{i}"))["id"] for i in range(3)]
    await ask(client, owner, ids[0], "What is a CDN?")  # c0 is now the most recent
    first = (await client.get(CHAT, headers=owner.headers, params={"limit": 2})).json()
    assert first["total"] == 3 and (first["limit"], first["offset"]) == (2, 0)
    assert [c["title"] for c in first["items"]] == ["c0", "c2"]
    last = (await client.get(CHAT, headers=owner.headers,
                             params={"limit": 2, "offset": 2})).json()
    assert [c["title"] for c in last["items"]] == ["c1"]
    for params in ({"limit": 0}, {"limit": 101}, {"offset": -1}):
        assert (await client.get(CHAT, headers=owner.headers, params=params)
                ).status_code == 422


async def test_the_completer_hook_writes_answers_and_is_number_checked(app, client,
                                                                      monkeypatch):
    owner = await create_member(app)
    aid, result = await completed_assessment(client, owner)
    conversation = await start(client, owner, assessment_id=aid)
    prompts: list[str] = []
    replies = iter([f"AWS would cost {aws_cost(result)} a month.",
                    "AWS would cost $999.99 a month."])

    async def completer(system: str, prompt: str) -> tuple[str, str]:
        prompts.append(prompt)
        return next(replies), "fake/model-1"

    app.state.platform[chat_service.COMPLETER_KEY] = completer
    kept = (await ask(client, owner, conversation["id"], AWS_QUESTION))["assistant_message"]
    rejected = (await ask(client, owner, conversation["id"], AWS_QUESTION))["assistant_message"]
    assert kept["author"] == "fake/model-1" and kept["note"] == ""
    assert kept["content"] == f"AWS would cost {aws_cost(result)} a month."
    assert kept["citations"][0]["kind"] == "fact"
    assert rejected["author"] == "offline" and "$999.99" in rejected["note"]
    assert "999.99" not in rejected["content"]
    # the second prompt carried the first exchange as history
    assert f"AWS would cost {aws_cost(result)} a month." in prompts[1]


@pytest.mark.parametrize("route", ["messages", "messages/stream"])
async def test_no_token_is_401(app, client, route):
    owner = await create_member(app)
    conversation = await start(client, owner)
    for method, url in (("GET", CHAT), ("POST", CHAT), ("GET", f"{CHAT}/{conversation['id']}"),
                        ("DELETE", f"{CHAT}/{conversation['id']}"),
                        ("POST", f"{CHAT}/{conversation['id']}/{route}")):
        response = await client.request(method, url, json={"content": "hi"})
        assert response.status_code == 401, (method, url)


async def test_a_what_if_question_is_answered_by_the_engine(app, client):
    # "what if traffic doubles?" runs the what-if the API runs, and leads with its outcome
    owner = await create_member(app)
    aid, result = await completed_assessment(client, owner)
    conversation = await start(client, owner, assessment_id=aid)
    reply = (await ask(client, owner, conversation["id"],
                       "What if traffic doubles?"))["assistant_message"]
    what_if = await client.post(f"{ASSESSMENTS}/{aid}/what-if", headers=owner.headers,
                                json={"traffic_multiplier": 2})
    after = what_if.json()["result"]["recommended"]
    lead = reply["content"].split("\n\n")[0]
    assert lead.startswith("**What-if: traffic x2.** What-if computed by the engine now")
    assert (f"at {money(after['monthly_cost_usd'])} a month, against "
            f"{money(result['recommended']['monthly_cost_usd'])} now") in lead
    assert reply["citations"][0] == {"kind": "fact", "id": "what-if:traffic_multiplier=2",
                                     "title": "What-if: traffic x2", "url": None}
    # nothing was saved
    stored = await client.get(f"{ASSESSMENTS}/{aid}/result", headers=owner.headers)
    assert stored.json()["version"] == 1
    # a what-if of the user's in progress: the answer says so and uses the stored result
    leases = leases_of(app.state.platform)
    busy = await leases.acquire(f"what-if:{owner.user_id}", 1, 60)
    assert busy is not None
    try:
        reply = (await ask(client, owner, conversation["id"],
                           "What if traffic triples?"))["assistant_message"]
    finally:
        await leases.release(f"what-if:{owner.user_id}", busy)
    assert reply["content"].startswith(
        "The what-if (traffic x3) was not run (one what-if at a time: wait for the one in "
        "progress); this answer uses the stored result.")
    assert not any(c["id"].startswith("what-if:") for c in reply["citations"])
    # the requirements edited since the run: "now" is the engine's assessment of them, not
    # the stored result of the old ones
    edited = copy.deepcopy(result["requirements"])
    edited["workloads"][0]["peak_rps"] *= 3
    patched = await client.patch(f"{ASSESSMENTS}/{aid}", headers=owner.headers,
                                 json={"requirements": edited})
    assert patched.status_code == 200, patched.text
    fresh = (await client.post(f"{ASSESSMENTS}/{aid}/what-if", headers=owner.headers,
                               json={"traffic_multiplier": 2})).json()["differences"]
    assert fresh["monthly_cost_usd"]["before"] != result["recommended"]["monthly_cost_usd"]
    reply = (await ask(client, owner, conversation["id"],
                       "What if traffic doubles?"))["assistant_message"]
    assert (f"at {money(fresh['monthly_cost_usd']['after'])} a month, against "
            f"{money(fresh['monthly_cost_usd']['before'])} now") in reply["content"]
