"""An optional plain-language summary of ``/status`` by a language model, off by default.

``Summariser`` is the interface; ``ChatSummariser`` calls an OpenAI-compatible chat-completions
endpoint (``LAKEHOUSE_API__SUMMARY_URL``, ``__SUMMARY_MODEL``; the key only from
``LAKEHOUSE_SUMMARY_API_KEY``).  It rewords the rules' findings, it never replaces them: the
report keeps its rule-based headline and findings, and a failed or slow call leaves the summary
out with the reason.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

import httpx
from pydantic import SecretStr

PROMPT = (
    "You summarise a data pipeline's health for the on-call data engineer of a sports-betting "
    "analytics team. In at most two sentences of plain English, say what is wrong, if anything, "
    "and the one thing to look at first. Use only the findings given."
)


class Summariser(Protocol):
    def summarise(self, report: dict[str, Any]) -> str: ...


class ChatSummariser:
    def __init__(self, url: str, model: str, key: SecretStr | None, timeout_s: float = 10.0) -> None:
        self.url, self.model, self._key, self.timeout_s = url, model, key, timeout_s

    def summarise(self, report: dict[str, Any]) -> str:
        facts = {k: report[k] for k in ("status", "headline", "findings", "components")}
        headers = {"Authorization": f"Bearer {self._key.get_secret_value()}"} if self._key else {}
        response = httpx.post(
            self.url,
            json={
                "model": self.model,
                "temperature": 0,
                "messages": [
                    {"role": "system", "content": PROMPT},
                    {"role": "user", "content": json.dumps(facts)},
                ],
            },
            headers=headers,
            timeout=self.timeout_s,
        )
        response.raise_for_status()
        return str(response.json()["choices"][0]["message"]["content"]).strip()
