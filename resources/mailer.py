"""SMTP mail with STARTTLS; without SMTP_HOST messages are written as .eml files to the outbox."""

import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Literal

import dagster as dg
from pydantic import Field


@dataclass(frozen=True)
class Attachment:
    """A file attached to a message; `inline_cid` embeds it (e.g. a picture shown in the HTML)."""

    filename: str
    content: bytes
    mime_type: str = "application/octet-stream"
    inline_cid: str | None = None


class MailDeliveryError(RuntimeError):
    """The SMTP server refused or could not receive a message."""


class MailerResource(dg.ConfigurableResource):
    """Send HTML mail through SMTP (STARTTLS by default) or into `outbox_dir` as .eml files."""

    host: str | None = Field(default=None, description="SMTP server; None = write to outbox")
    port: int = 587
    user: str | None = None
    password: str | None = Field(default=None, description="SMTP password (secret)")
    mail_from: str = "data-platform@localhost"
    security: Literal["starttls", "ssl", "none"] = "starttls"
    ca_file: str | None = Field(default=None, description="Extra CA bundle to trust (tests)")
    outbox_dir: str = ".platform/outbox"
    timeout_seconds: float = 30.0

    def build(
        self,
        to: list[str],
        subject: str,
        html: str,
        text: str | None = None,
        attachments: list[Attachment] | None = None,
    ) -> EmailMessage:
        """Compose the message: a text part, an HTML part, inline pictures and attachments."""
        if not to:
            raise ValueError(f"mail '{subject}': no recipients")
        message = EmailMessage()
        message["From"] = self.mail_from
        message["To"] = ", ".join(to)
        message["Subject"] = subject
        message["Message-ID"] = make_msgid(domain=self.mail_from.split("@")[-1])
        message.set_content(text or "This message is best viewed as HTML.")
        message.add_alternative(html, subtype="html")
        html_part = message.get_payload()[-1]
        for item in attachments or []:
            maintype, _, subtype = item.mime_type.partition("/")
            if item.inline_cid:
                html_part.add_related(
                    item.content,
                    maintype,
                    subtype,
                    cid=f"<{item.inline_cid}>",
                    filename=item.filename,
                )
            else:
                message.add_attachment(
                    item.content, maintype=maintype, subtype=subtype, filename=item.filename
                )
        return message

    def send(
        self,
        to: list[str],
        subject: str,
        html: str,
        text: str | None = None,
        attachments: list[Attachment] | None = None,
    ) -> str:
        """Send the message; returns where it went (`smtp://host` or the .eml path)."""
        message = self.build(to, subject, html, text, attachments)
        if not self.host:
            outbox = Path(self.outbox_dir)
            outbox.mkdir(parents=True, exist_ok=True)
            stamp = datetime.now().strftime("%Y%m%d_%H%M%S_%f")
            path = outbox / f"{stamp}.eml"
            path.write_bytes(bytes(message))
            return str(path)
        context = ssl.create_default_context(cafile=self.ca_file)
        try:
            if self.security == "ssl":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout_seconds, context=context
                )
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout_seconds)
            with smtp:
                if self.security == "starttls":
                    smtp.starttls(context=context)
                if self.user and self.password:
                    smtp.login(self.user, self.password)
                smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            raise MailDeliveryError(
                f"mail '{subject}' to {', '.join(to)} via {self.host}:{self.port} failed: {exc}"
            ) from exc
        return f"smtp://{self.host}:{self.port}"
