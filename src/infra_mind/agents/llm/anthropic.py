"""Anthropic Messages API over plain httpx (``ANTHROPIC_BASE_URL`` for a proxy or gateway)."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from infra_mind.agents.llm.base import HttpProvider, LLMError

DEFAULT_BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"


class AnthropicProvider(HttpProvider):
    """``POST {base_url}/v1/messages``; one attempt per call. 529 overloaded is retryable
    (a 5xx: ``kit.retry``)."""

    name = "anthropic"

    DEFAULT_BASE_URL = DEFAULT_BASE_URL
    PATH = "/v1/messages"
    USAGE_KEYS = ("input_tokens", "output_tokens")
    HEADERS = MappingProxyType({"anthropic-version": API_VERSION})

    def _key_headers(self, api_key: str) -> dict[str, str]:
        return {"x-api-key": api_key}

    def _prompt(self, system: str, prompt: str) -> dict[str, Any]:
        return {"system": system, "messages": [{"role": "user", "content": prompt}]}

    def _text(self, data: dict[str, Any]) -> str:
        content = data.get("content")
        if not isinstance(content, list):
            raise LLMError(f"{self.name}: answer had no content list")
        return "".join(
            block["text"]
            for block in content
            if isinstance(block, dict)
            and block.get("type") == "text"
            and isinstance(block.get("text"), str)
        )
