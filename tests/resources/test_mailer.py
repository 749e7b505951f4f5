from pathlib import Path

import pytest

from resources.mailer import Attachment, MailDeliveryError, MailerResource

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def test_mail_is_delivered_over_starttls_with_inline_picture(smtp_server) -> None:
    mailer = smtp_server.mailer(mail_from="reports@example.com")
    where = mailer.send(
        ["ops@example.com", "road@example.com"],
        "[Pothole] daily report 2024-03-05",
        '<h1>Top 5</h1><img src="cid:map">',
        attachments=[
            Attachment("map.png", PNG, "image/png", inline_cid="map"),
            Attachment("top5.csv", b"s_id,score\n1,9.5\n", "text/csv"),
        ],
    )
    assert where == f"smtp://127.0.0.1:{smtp_server.port}"
    (message,) = smtp_server.messages
    assert message["Subject"] == "[Pothole] daily report 2024-03-05"
    assert message["To"] == "ops@example.com, road@example.com"
    parts = {part.get_content_type(): part for part in message.walk()}
    assert "<h1>Top 5</h1>" in parts["text/html"].get_payload(decode=True).decode()
    assert parts["image/png"]["Content-ID"] == "<map>"
    assert parts["image/png"].get_payload(decode=True) == PNG
    assert parts["text/csv"].get_filename() == "top5.csv"


def test_untrusted_certificate_fails_with_a_clear_error(smtp_server) -> None:
    mailer = smtp_server.mailer(ca_file=None)
    with pytest.raises(MailDeliveryError, match=r"mail 'x' to a@example.com via 127.0.0.1:\d+"):
        mailer.send(["a@example.com"], "x", "<p>x</p>")
    assert smtp_server.messages == []


def test_a_busy_server_refusing_with_451_fails_the_send_and_later_takes_it(smtp_server) -> None:
    mailer = smtp_server.mailer()
    smtp_server.refuse = lambda message: message["Subject"].endswith("2024-03-06")
    mailer.send(["a@example.com"], "report 2024-03-05", "<p>5</p>")
    with pytest.raises(MailDeliveryError, match=r"report 2024-03-06.*451.*try again later"):
        mailer.send(["a@example.com"], "report 2024-03-06", "<p>6</p>")
    assert [m["Subject"] for m in smtp_server.messages] == ["report 2024-03-05"]
    assert [m["Subject"] for m in smtp_server.refused] == ["report 2024-03-06"]
    smtp_server.refuse = None  # the server takes mail again
    mailer.send(["a@example.com"], "report 2024-03-06", "<p>6</p>")
    assert [m["Subject"] for m in smtp_server.messages][-1] == "report 2024-03-06"


def test_without_smtp_host_messages_land_in_the_outbox(tmp_path: Path) -> None:
    mailer = MailerResource(outbox_dir=str(tmp_path / "outbox"))
    where = Path(mailer.send(["a@example.com"], "Report", "<p>hello</p>"))
    assert where.parent == tmp_path / "outbox" and where.suffix == ".eml"
    assert b"Subject: Report" in where.read_bytes()


def test_no_recipients_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no recipients"):
        MailerResource(outbox_dir=str(tmp_path)).send([], "Report", "<p/>")
