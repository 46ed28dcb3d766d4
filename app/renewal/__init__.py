"""Unattended renewal (`accert renew`, `accert schedule`): a room of its own.

It composes what the other rooms do (request, ACME issuance, export, the Mediant and OVOC
deployments) from what a renewal folder recorded, and never grows `Workspace`:

- `plan`: what a renewal's successor must do, read from the recorded export and deployments;
- `due`: whether a certificate needs renewing (days left, the CA's RFC 9773 window);
- `lineage`: the chain of renewals (`renews` / `renewed_by`) and its newest member;
- `run`: one renewal, step by step, resumable after a kill, under a lock;
- `report`, `mail`: what happened, as JSON and HTML, and by e-mail;
- `schedule`: the Task Scheduler / cron line that runs it daily.
"""
