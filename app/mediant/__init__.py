"""Deployment to AudioCodes Mediant SBCs and gateways (firmware 7.2+) over their REST API."""
