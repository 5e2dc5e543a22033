"""OpenAI Chat Completions over plain httpx.

Any server speaking the same wire format works (vLLM, Ollama, LM Studio): point
``OPENAI_BASE_URL`` at it; a local server may need no key.
"""

from __future__ import annotations

from typing import Any

from infra_mind.agents.llm.base import HttpProvider, LLMError

DEFAULT_BASE_URL = "https://api.openai.com/v1"


class OpenAIProvider(HttpProvider):
    """``POST {base_url}/chat/completions``; one attempt per call."""

    name = "openai"

    DEFAULT_BASE_URL = DEFAULT_BASE_URL
    PATH = "/chat/completions"
    USAGE_KEYS = ("prompt_tokens", "completion_tokens")

    def _key_headers(self, api_key: str) -> dict[str, str]:
        return {"authorization": f"Bearer {api_key}"}

    def _prompt(self, system: str, prompt: str) -> dict[str, Any]:
        return {"messages": [{"role": "system", "content": system},
                             {"role": "user", "content": prompt}]}

    def _text(self, data: dict[str, Any]) -> str:
        try:
            text = data["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError) as exc:
            raise LLMError(f"{self.name}: answer had no choices[0].message.content") from exc
        if not isinstance(text, str):
            raise LLMError(f"{self.name}: answer content was not text")
        return text
