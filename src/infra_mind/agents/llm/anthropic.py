"""Anthropic Messages API over plain httpx (``ANTHROPIC_BASE_URL`` for a proxy or gateway)."""

from __future__ import annotations

from infra_mind.agents.llm.base import (
    Completion,
    HttpProvider,
    LLMError,
)

DEFAULT_BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"


class AnthropicProvider(HttpProvider):
    """``POST {base_url}/v1/messages``; one attempt per call. 529 overloaded is retryable."""

    name = "anthropic"

    DEFAULT_BASE_URL = DEFAULT_BASE_URL
    KEY_ENV = "ANTHROPIC_API_KEY"
    URL_ENV = "ANTHROPIC_BASE_URL"

    async def complete(
        self,
        system: str,
        prompt: str,
        *,
        model: str,
        max_tokens: int,
        temperature: float,
        timeout_s: float,
    ) -> Completion:
        headers = {"content-type": "application/json", "anthropic-version": API_VERSION}
        if self._api_key:
            headers["x-api-key"] = self._api_key
        body = {
            "model": model,
            "system": system,
            "messages": [{"role": "user", "content": prompt}],
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        data, latency_s = await self._post("/v1/messages", headers, body, timeout_s)
        content = data.get("content")
        if not isinstance(content, list):
            raise LLMError(f"{self.name}: answer had no content list")
        text = "".join(
            block["text"]
            for block in content
            if isinstance(block, dict)
            and block.get("type") == "text"
            and isinstance(block.get("text"), str)
        )
        return self._completion(text, data, model, "input_tokens", "output_tokens", latency_s)
