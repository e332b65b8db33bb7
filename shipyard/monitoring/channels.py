"""Notification channels: where alerts go.

    {type: webhook, url: ..., secret_env: NAME}   JSON POST, signed with HMAC-SHA256 in
                                                  X-Shipyard-Signature: sha256=<hex>
    {type: slack, url: ...}                       a Slack-compatible incoming webhook
    {type: email, host: ..., port: 25, sender: ..., to: [...], starttls: false,
     username: ..., password_env: NAME}           e-mail over SMTP
    {type: log}                                   the "shipyard.alerts" logger

HTTP channels retry connection errors, 429 and 5xx answers with exponential
backoff (``retries`` more attempts, ``backoff_seconds`` doubling); other 4xx
answers are not retried. Secrets are read from environment variables named in
the spec, never stored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shipyard.errors import InvalidInput

__all__ = ["CHANNEL_TYPES", "Delivery", "check_channel", "deliver"]

CHANNEL_TYPES = ("webhook", "slack", "email", "log")
_log = logging.getLogger("shipyard.alerts")


@dataclass
class Delivery:
    delivered: bool
    attempts: int
    detail: str


def check_channel(channel: Any, where: str) -> dict[str, Any]:
    """A channel spec, checked; InvalidInput names the key that is wrong."""
    if not isinstance(channel, Mapping) or channel.get("type") not in CHANNEL_TYPES:
        raise InvalidInput(f"{where}: a channel needs type: one of {', '.join(CHANNEL_TYPES)}.")
    kind = channel["type"]
    needed = {"webhook": ["url"], "slack": ["url"], "email": ["host", "sender", "to"], "log": []}
    for key in needed[kind]:
        if not channel.get(key):
            raise InvalidInput(f"{where}: a {kind} channel needs {key}.")
    if kind in ("webhook", "slack") and not str(channel["url"]).startswith(("http://", "https://")):
        raise InvalidInput(f"{where}.url: {channel['url']!r} is not an http(s) URL.")
    return dict(channel)


def channel_name(channel: Mapping[str, Any]) -> str:
    target = channel.get("url") or channel.get("to") or ""
    return f"{channel['type']}:{target}" if target else str(channel["type"])


def deliver(channel: Mapping[str, Any], payload: Mapping[str, Any]) -> Delivery:
    kind = channel["type"]
    if kind == "log":
        _log.warning("%s", payload["text"])
        return Delivery(True, 1, "logged")
    if kind == "email":
        return _email(channel, payload)
    if kind == "slack":
        body = json.dumps({"text": payload["text"]}).encode()
        return _post(channel, body, {})
    body = json.dumps(payload, default=str, sort_keys=True).encode()
    headers = {"X-Shipyard-Event": str(payload.get("event", ""))}
    secret_env = channel.get("secret_env")
    if secret_env:
        secret = os.environ.get(secret_env)
        if not secret:
            return Delivery(False, 0, f"the secret variable {secret_env} is not set")
        signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        headers["X-Shipyard-Signature"] = f"sha256={signature}"
    return _post(channel, body, headers)


def _post(channel: Mapping[str, Any], body: bytes, headers: dict[str, str]) -> Delivery:
    import httpx

    retries = int(channel.get("retries", 3))
    wait = float(channel.get("backoff_seconds", 0.5))
    detail = ""
    for attempt in range(1, retries + 2):
        try:
            answer = httpx.post(
                channel["url"],
                content=body,
                headers={"Content-Type": "application/json", **headers},
                timeout=float(channel.get("timeout_seconds", 10)),
            )
            detail = f"HTTP {answer.status_code}"
            if answer.status_code < 300:
                return Delivery(True, attempt, detail)
            if answer.status_code != 429 and answer.status_code < 500:
                return Delivery(False, attempt, f"{detail}: {answer.text[:200]}")
        except httpx.HTTPError as exc:
            detail = f"{type(exc).__name__}: {exc}"
        if attempt <= retries:
            time.sleep(wait)  # backoff before the next attempt
            wait *= 2
    return Delivery(False, retries + 1, detail)


def _email(channel: Mapping[str, Any], payload: Mapping[str, Any]) -> Delivery:
    import smtplib
    from email.message import EmailMessage

    message = EmailMessage()
    message["Subject"] = payload["subject"]
    message["From"] = channel["sender"]
    recipients = channel["to"] if isinstance(channel["to"], list) else [channel["to"]]
    message["To"] = ", ".join(recipients)
    message.set_content(payload["text"] + "\n\n" + json.dumps(payload, default=str, indent=2))
    try:
        with smtplib.SMTP(channel["host"], int(channel.get("port", 25)), timeout=10) as smtp:
            if channel.get("starttls"):
                smtp.starttls()
            if channel.get("username"):
                smtp.login(channel["username"], os.environ.get(channel.get("password_env", ""), ""))
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        return Delivery(False, 1, f"{type(exc).__name__}: {exc}")
    return Delivery(True, 1, f"sent to {', '.join(recipients)}")
