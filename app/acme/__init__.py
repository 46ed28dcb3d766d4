"""ACME (RFC 8555) issuance: the CA round trip as one step, through certbot's `acme` package.

The interface other parts build on (the wizard, `accert renew`):

- app.acme.settings.AcmeSettings: frozen; to_dict()/from_dict() for renewal.json (no HMAC).
- app.acme.issue.issue(ws, settings, *, eab_hmac=None, progress=..., cancelled=...,
  show_records=None) -> app.response_check.ImportOutcome. Orders the CSR's names, answers
  DNS-01, imports the chain with `accert import`'s checks and records
  {"settings", "account_url", "order_url", "certificate_url", "issued_at"} in ws.state.acme.
  Raises only AccertError subclasses (app.acme.errors.AcmeError / DnsError / AcmeCancelled,
  and the import's own ChainProblem/KeyMismatch/WorkspaceError/InputError/PassphraseError).
- app.acme.account: one key per (directory, EAB key id) under the settings folder, encrypted,
  reused without the HMAC.

Nothing here is imported by `accert --help`: this package's top level stays empty.
"""
