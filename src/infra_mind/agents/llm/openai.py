"""OpenAI Chat Completions over plain httpx.

Any server speaking the same wire format works (vLLM, Ollama, LM Studio): point
``OPENAI_BASE_URL`` at it; a local server may need no key.
"""

from __future__ import annotations

from infra_mind.agents.llm.base import (
    Completion,
    HttpProvider,
    LLMError,
)

DEFAULT_BASE_URL = "https://api.openai.com/v1"


class OpenAIProvider(HttpProvider):
    """``POST {base_url}/chat/completions``; one attempt per call."""

    name = "openai"

    DEFAULT_BASE_URL = DEFAULT_BASE_URL
    KEY_ENV = "OPENAI_API_KEY"
    URL_ENV = "OPENAI_BASE_URL"

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
        headers = {"content-type": "application/json"}
        if self._api_key:
            headers["authorization"] = f"Bearer {self._api_key}"
        body = {
            "model": model,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": prompt},
            ],
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        data, latency_s = await self._post("/chat/completions", headers, body, timeout_s)
        try:
            text = data["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError) as exc:
            raise LLMError(f"{self.name}: answer had no choices[0].message.content") from exc
        if not isinstance(text, str):
            raise LLMError(f"{self.name}: answer content was not text")
        return self._completion(text, data, model, "prompt_tokens", "completion_tokens", latency_s)
