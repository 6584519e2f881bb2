"""Mail: composing messages from templates, the outbox sender, and SMTP delivery."""
